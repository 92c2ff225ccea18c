#include "CNcurses.h"
#include <sys/ioctl.h>
#include <unistd.h>

static int has_colour = 0;

int ks_start(void) {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    has_colour = 0;
    if (has_colors() && getenv("NO_COLOR") == NULL) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_GREEN, -1);   /* healthy, running */
        init_pair(2, COLOR_YELLOW, -1);  /* starting, pending */
        init_pair(3, COLOR_RED, -1);     /* unhealthy, failed */
        init_pair(4, COLOR_CYAN, -1);    /* arrows */
        init_pair(5, COLOR_BLUE, -1);    /* borders */
        init_pair(6, COLOR_MAGENTA, -1); /* new since the last step */
        has_colour = 1;
    }
    return has_colour;
}

void ks_stop(void) { endwin(); }
int ks_lines(void) { return LINES; }
int ks_cols(void) { return COLS; }

int ks_read_key(int timeout_ms, int *is_key) {
    wint_t ch = 0;
    timeout(timeout_ms);
    int kind = get_wch(&ch);
    if (kind == ERR) { *is_key = 0; return -1; }
    *is_key = (kind == KEY_CODE_YES);
    return (int)ch;
}

void ks_put(int y, int x, const char *utf8, int pair, int bold, int reverse, int underline) {
    attr_t attributes = A_NORMAL;
    if (bold) attributes |= A_BOLD;
    if (reverse) attributes |= A_REVERSE;
    /* Emphasis: underline is what every terminfo entry has (italics need sitm, which many lack). */
    if (underline) attributes |= A_UNDERLINE;
    if (has_colour && pair > 0) attributes |= COLOR_PAIR(pair);
    attrset(attributes);
    mvaddstr(y, x, utf8);
    attrset(A_NORMAL);
}

void ks_clear(void) { erase(); }

/* The shell-escape recipe of the ncurses FAQ: save the program's tty modes and leave curses for the real terminal. */
void ks_suspend(void) {
    def_prog_mode();
    endwin();
}

/* Back from the real terminal: restore the modes, take a size that changed meanwhile, and repaint everything. */
void ks_resume(void) {
    reset_prog_mode();
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && (size.ws_row != LINES || size.ws_col != COLS)) {
        resizeterm(size.ws_row, size.ws_col);
    }
    clearok(curscr, TRUE);
    refresh();
}

int ks_key_left(void) { return KEY_LEFT; }
int ks_key_right(void) { return KEY_RIGHT; }
int ks_key_home(void) { return KEY_HOME; }
int ks_key_end(void) { return KEY_END; }
int ks_key_backspace(void) { return KEY_BACKSPACE; }
int ks_key_dc(void) { return KEY_DC; }
void ks_refresh(void) { refresh(); }
int ks_key_resize(void) { return KEY_RESIZE; }
int ks_key_up(void) { return KEY_UP; }
int ks_key_down(void) { return KEY_DOWN; }
int ks_key_ppage(void) { return KEY_PPAGE; }
int ks_key_npage(void) { return KEY_NPAGE; }
int ks_key_enter(void) { return KEY_ENTER; }
int ks_key_btab(void) { return KEY_BTAB; }
