// A small shim over ncursesw: SwiftPM drops pkg-config's -D flags, so the wide-character API is turned on
// here; macros and C globals, which do not import into Swift 6, are wrapped in functions.
#ifndef KUBESCRATCH_CNCURSES_H
#define KUBESCRATCH_CNCURSES_H

#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#include <stdlib.h>

/// Sets up the screen: locale must be set by the caller. Returns 1 when colours are available.
int ks_start(void);
void ks_stop(void);
int ks_lines(void);
int ks_cols(void);
/// Waits up to timeout_ms for a key. Returns -1 when none; sets *is_key to 1 for KEY_* codes.
int ks_read_key(int timeout_ms, int *is_key);
void ks_put(int y, int x, const char *utf8, int pair, int bold, int reverse, int underline);
void ks_clear(void);
/// Leaves curses for the real terminal (a command that needs it), and comes back, repainting at the current size.
void ks_suspend(void);
void ks_resume(void);
int ks_key_left(void);
int ks_key_right(void);
int ks_key_home(void);
int ks_key_end(void);
int ks_key_backspace(void);
int ks_key_dc(void);
void ks_refresh(void);
int ks_key_resize(void);
int ks_key_up(void);
int ks_key_down(void);
int ks_key_ppage(void);
int ks_key_npage(void);
int ks_key_enter(void);
int ks_key_btab(void);

#endif
