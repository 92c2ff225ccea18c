import KubescratchCore
import Testing

@Suite struct SourceBuildTests {
    let plan = SourceBuildPlan(source: .debianBookworm, cache: "/root/.cache/kubescratch", architecture: "amd64")

    @Test func debianTwelveIsRecognisedFromOsRelease() {
        let bookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"
        #expect(DistributionSource.forHost(osRelease: bookworm) == .debianBookworm)
        #expect(DistributionSource.forHost(osRelease: "ID=debian\nVERSION_CODENAME=trixie\n") == nil, "trixie's package builds kubectl only")
        #expect(DistributionSource.forHost(osRelease: "ID=ubuntu\nVERSION_CODENAME=noble\n") == nil)
        #expect(DistributionSource.forHost(osRelease: "") == nil)
    }

    @Test func theCacheIsKeyedByPackageVersionAndArchitecture() {
        #expect(plan.root == "/root/.cache/kubescratch/source/debian-kubernetes-1.20.5+really1.20.2-amd64")
        #expect(plan.tarball == plan.root + "/download/kubernetes_1.20.5+really1.20.2.orig.tar.gz")
        #expect(plan.result("kubelet") == plan.root + "/bin/kubelet")
        let arm = SourceBuildPlan(source: .debianBookworm, cache: "/c", architecture: "arm64")
        #expect(arm.root.hasSuffix("-arm64") && arm.built("kubelet").hasSuffix("/_output/local/bin/linux/arm64/kubelet"))
        // Shared by every version: Go's cache is content-addressed.
        #expect(plan.goCache == "/root/.cache/kubescratch/source/go-build")
    }

    @Test func aptUsesItsOwnListsAndEntryOnly() {
        let update = plan.aptUpdate.arguments
        #expect(update.contains("Dir::Etc::SourceList=\(plan.aptSourcesFile)"))
        #expect(update.contains("Dir::Etc::SourceParts=/dev/null"), "the machine's sources.list.d is not read")
        #expect(update.contains("Dir::State::Lists=\(plan.aptLists)"), "the machine's lists are not written")
        #expect(plan.aptSource.arguments.suffix(3) == ["source", "--download-only", "kubernetes"])
        #expect(plan.aptSource.directory == plan.downloads)
        let entry = plan.sourcesEntry(uris: "http://deb.debian.org/debian", signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg")
        #expect(entry == "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    }

    @Test func theBuildRunsInAGopathWithItsCachesInOurFolder() {
        let build = plan.build("kubelet")
        #expect(build.program == "hack/make-rules/build.sh" && build.arguments == ["cmd/kubelet"] && build.directory == plan.tree)
        #expect(build.environment["GOPATH"] == plan.tree + "/.go")
        #expect(build.environment["CGO_ENABLED"] == "0", "static binaries, as the release's")
        #expect(build.environment["HOME"] == plan.home)
        #expect(plan.gopathLink == (plan.tree + "/.go/src/k8s.io/kubernetes", "../../.."))
        #expect(plan.goCacheLink == (plan.tree + "/_output/local/go/cache", plan.goCache), "where hack/lib/golang.sh puts GOCACHE")
        #expect(plan.generate.arguments == ["generated_files"] && plan.generate.environment == build.environment)
        #expect(plan.unpack.arguments == ["-xzf", plan.tarball, "-C", plan.unpacking], "unpacked aside, then renamed whole")
    }

    @Test func phasesCoverEveryBinaryOnceWithTheApiServerFirst() {
        let builds = plan.phases.compactMap { phase -> String? in if case .build(let b) = phase { b } else { nil } }
        #expect(Set(builds) == Set(ReleaseArtifacts.kubernetesBinaries) && builds.count == 6)
        #expect(builds.first == "kube-apiserver")
        #expect(plan.phases.first == .fetch && plan.phases.last == .verify)
        let total = plan.phases.reduce(0) { $0 + plan.typicalSeconds($1) }
        #expect((5 * 60...12 * 60).contains(total), "the estimate matches the ~8 min announced, not \(total) s")
    }

    @Test func theMachinesDebianArchiveIsFoundInBothFormats() throws {
        let deb822 = """
            Types: deb
            # a comment
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://deb.debian.org/debian-security
            Suites: bookworm-security
            Components: main
            """
        let found = try #require(DebianSources.archive(deb822: deb822))
        #expect(found.uris == "http://deb.debian.org/debian" && found.signedBy == "/usr/share/keyrings/debian-archive-keyring.gpg")
        #expect(DebianSources.archive(deb822: "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n") == nil)
        let oneLine = "deb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.lan/debian bookworm main contrib\n"
        let line = try #require(DebianSources.archive(oneLine: oneLine))
        #expect(line.uris == "http://mirror.lan/debian" && line.signedBy == "/k.gpg")
    }
}

@Suite struct SetupRouteTests {
    let debian = DistributionSource.debianBookworm

    @Test func onlyAnUnreachableHostFallsBackToTheSource() {
        #expect(SetupRoute.fallback(after: .unreachable, source: .auto, mirrorOrFolder: false, requested: nil, available: debian) == debian)
        #expect(SetupRoute.fallback(after: .answered, source: .auto, mirrorOrFolder: false, requested: nil, available: debian) == nil,
                "a 404 or a checksum mismatch is a problem with what was asked for, not a reason to build something else")
    }

    @Test func theUserCanRefuseOrRedirectTheFallback() {
        #expect(SetupRoute.fallback(after: .unreachable, source: .release, mirrorOrFolder: false, requested: nil, available: debian) == nil)
        #expect(SetupRoute.fallback(after: .unreachable, source: .auto, mirrorOrFolder: true, requested: nil, available: debian) == nil,
                "an unreachable mirror is reported, not replaced by a build")
        #expect(SetupRoute.fallback(after: .unreachable, source: .auto, mirrorOrFolder: false, requested: nil, available: nil) == nil)
    }

    @Test func anotherRequestedReleaseIsNotSilentlyReplaced() {
        #expect(SetupRoute.fallback(after: .unreachable, source: .auto, mirrorOrFolder: false,
                                    requested: KubernetesVersion(1, 37, 0), available: debian) == nil)
        #expect(SetupRoute.fallback(after: .unreachable, source: .auto, mirrorOrFolder: false,
                                    requested: KubernetesVersion(1, 20, 2), available: debian) == debian)
    }

    @Test func withNoWayTheMessageNamesAllThree() {
        let message = SetupRoute.noWayMessage("the name dl.k8s.io does not resolve", available: debian, requested: KubernetesVersion(1, 37, 0))
        #expect(message.contains("--mirror URL") && message.contains("--from DIR") && message.contains("--source debian"))
        #expect(message.contains("it holds v1.20.2, not v1.37.0"))
        #expect(SetupRoute.noWayMessage("x", available: nil, requested: nil).contains("on Debian 12 only"))
    }
}

/// Setup's packages bring programs, not services: what policy-rc.d says and which units are found.
@Suite struct ServicePolicyTests {
    @Test func thePolicyForbidsEveryAction() {
        #expect(ServicePolicy.script.hasPrefix("#!/bin/sh\n") && ServicePolicy.script.contains("\nexit 101\n"))
        #expect(ServicePolicy.path == "/usr/sbin/policy-rc.d")
    }

    /// `dpkg-query -L containerd` on Debian 12 (abridged): one service unit; templates and drop-ins are not units to disable.
    @Test func unitsAreReadFromThePackagesFiles() {
        let listing = """
            /.
            /lib
            /lib/systemd
            /lib/systemd/system
            /lib/systemd/system/containerd.service
            /lib/systemd/system/getty@.service
            /lib/systemd/system/containerd.service.d/override.conf
            /usr/bin/containerd
            /usr/lib/systemd/system/etcd.service
            /usr/share/doc/containerd/copyright
            """
        #expect(ServicePolicy.units(inPackageFiles: listing) == ["containerd.service", "etcd.service"])
        #expect(ServicePolicy.units(inPackageFiles: "/usr/bin/runc\n").isEmpty)
    }
}
