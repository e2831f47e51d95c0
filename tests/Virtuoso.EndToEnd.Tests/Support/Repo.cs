namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>Where the repository and its build outputs are, seen from a test.</summary>
internal static class Repo
{
    public static string Root { get; } = Environment.GetEnvironmentVariable("VIRTUOSO_REPO_ROOT") is { Length: > 0 } r ? r : FindRoot();

    /// <summary>The configuration this test assembly was built in; the deployables were built alongside it.</summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    public static string Images { get; } = Environment.GetEnvironmentVariable("VIRTUOSO_GUEST_IMAGES") is { Length: > 0 } i ? i : Path.Combine(Root, "build", "images");

    public static bool GuestImageBuilt => File.Exists(Path.Combine(Images, "linux-busybox", "image.json"));

    /// <summary>guest/build-debian.sh's image (issue 15), which ./test builds with scripts/lib.sh's build_debian_image.</summary>
    public static bool DebianImageBuilt => File.Exists(Path.Combine(Images, "debian-12", "image.json"));

    /// <summary>guest/build-installer-iso.sh's installer (issue 15), which ./test builds with scripts/lib.sh's build_installer_iso.</summary>
    public static string InstallerIso { get; } = Path.Combine(Root, "build", "isos", "virtuoso-installer.iso");

    public static string Dll(string project, string assembly) =>
        Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll");

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Virtuoso.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (Virtuoso.sln) above " + AppContext.BaseDirectory);
    }
}
