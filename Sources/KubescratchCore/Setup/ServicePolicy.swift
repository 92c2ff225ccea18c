/// Setup installs distribution packages (Debian's containerd, etcd for v1.20) only for their programs: kubescratch
/// starts its own instances. A package that ships a service would otherwise start and enable it on the default
/// socket and ports, a system service the user never asked for. Debian's maintainer scripts ask
/// `/usr/sbin/policy-rc.d` before starting anything (invoke-rc.d; exit 101 = "action forbidden", Debian's
/// policy-rc.d interface), and enabling is undone afterwards for the units the new packages brought.
public enum ServicePolicy {
    public static let path = "/usr/sbin/policy-rc.d"

    /// Written only where no policy-rc.d exists (an administrator's own is left alone), removed after the install.
    public static let script = """
        #!/bin/sh
        # Written by kubescratch setup for the length of one apt-get install: no service starts. Removed afterwards.
        exit 101

        """

    /// The systemd units among a package's files (`dpkg-query -L`), by unit name.
    public static func units(inPackageFiles listing: String) -> [String] {
        listing.split(separator: "\n").compactMap { line in
            let path = line.trimmingCharacters(in: .whitespaces)
            let folders = ["/lib/systemd/system/", "/usr/lib/systemd/system/"]
            guard path.hasSuffix(".service"), let folder = folders.first(where: { path.hasPrefix($0) }) else { return nil }
            let name = String(path.dropFirst(folder.count))
            return name.contains("/") || name.contains("@") ? nil : name
        }
    }
}
