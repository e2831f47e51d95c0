using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Virtuoso.Agent.Tests.Support;

namespace Virtuoso.Agent.Tests;

public sealed class AgentOptionsTests : IDisposable
{
    private readonly TestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (AgentOptions? Options, string? Error) Load(params string[] args) =>
        AgentOptions.Load(new ConfigurationBuilder().AddCommandLine(args).Build());

    [Fact]
    public void Load_TheDocumentedFlags()
    {
        var secret = Path.Combine(_dir.Path, "secret");
        File.WriteAllText(secret, "s3cret-from-file\n");
        var images = _dir.Sub("images");

        var (options, error) = Load("--name", "alpha", "--data", _dir.Path + "/data", "--images", images, "--secret-file", secret,
            "--accelerator", "KVM", "--stop-timeout", "2.5", "--vnc-display", "20");

        Assert.Null(error);
        Assert.Equal("alpha", options!.Name);
        Assert.Equal(_dir.Path + "/data", options.DataDirectory);
        Assert.Equal(images, options.ImagesDirectory);
        Assert.Equal("s3cret-from-file", options.Secret);
        Assert.Equal(AcceleratorMode.Kvm, options.Accelerator);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.StopTimeout);
        Assert.Equal(20, options.VncBaseDisplay);
    }

    [Fact]
    public void Load_MigrationFlags()
    {
        var (options, error) = Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--vmmp-port", "0", "--heartbeat-interval", "0.5",
            "--urls", "http://10.1.2.3:7001;http://127.0.0.1:7002");
        var (defaults, _) = Load("--data", _dir.Path, "--secret-file", WriteSecret());

        Assert.Null(error);
        Assert.Equal(0, options!.VmmpPort);
        Assert.Equal(TimeSpan.FromSeconds(0.5), options.HeartbeatInterval);
        Assert.Equal(System.Net.IPAddress.Parse("10.1.2.3"), options.ListenAddress);
        Assert.Equal(7101, defaults!.VmmpPort);
        Assert.Equal(TimeSpan.FromSeconds(2), defaults.HeartbeatInterval);
        Assert.Equal(System.Net.IPAddress.Loopback, defaults.ListenAddress);
    }

    [Fact]
    public void Load_VmmpLimits_Issue20()
    {
        var (options, error) = Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--vmmp-max-connections", "64", "--vmmp-max-per-peer", "16",
            "--vmmp-first-line-timeout", "2.5", "--vmmp-connection-lifetime", "45", "--vmmp-log-refusals", "3");
        var (defaults, _) = Load("--data", _dir.Path, "--secret-file", WriteSecret());

        Assert.Null(error);
        Assert.Equal((64, 16, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(45), 3),
            (options!.VmmpMaxConnections, options.VmmpMaxPerPeer, options.VmmpFirstLineTimeout, options.VmmpConnectionLifetime, options.VmmpLogRefusalsPerMinute));
        Assert.Equal((32, 8, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 10),
            (defaults!.VmmpMaxConnections, defaults.VmmpMaxPerPeer, defaults.VmmpFirstLineTimeout, defaults.VmmpConnectionLifetime, defaults.VmmpLogRefusalsPerMinute));
    }

    [Theory]
    [InlineData("http://localhost:7001", "127.0.0.1")]
    [InlineData("http://*:7001", "0.0.0.0")]
    [InlineData("http://+:7001", "0.0.0.0")]
    [InlineData("http://[::1]:7001", "::1")]
    [InlineData("http://10.0.0.1:0", "10.0.0.1")]
    public void ListenAddressOf_TheFirstUrl(string urls, string ip) =>
        Assert.Equal(System.Net.IPAddress.Parse(ip), AgentOptions.ListenAddressOf(urls));

    [Fact]
    public void Load_SecretFromTheEnvironmentVariable_AndDefaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VIRTUOSO_AGENT_SECRET"] = "from-env",
            ["Data"] = _dir.Path,
        }).Build();

        var (options, error) = AgentOptions.Load(config);

        Assert.Null(error);
        Assert.Equal("from-env", options!.Secret);
        Assert.Equal(AcceleratorMode.Auto, options.Accelerator);
        Assert.Equal(TimeSpan.FromSeconds(30), options.StopTimeout);
        Assert.Null(options.ImagesDirectory);
    }

    [Theory]
    [InlineData("no host secret")]
    public void Load_WithoutSecret_IsRefused(string reason)
    {
        var (options, error) = Load("--data", _dir.Path);

        Assert.Null(options);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Load_EmptyOrMissingSecretFile_IsRefused()
    {
        var empty = Path.Combine(_dir.Path, "empty");
        File.WriteAllText(empty, " \n");

        Assert.Contains("is empty", Load("--data", _dir.Path, "--secret-file", empty).Error);
        Assert.Contains("cannot read", Load("--data", _dir.Path, "--secret-file", empty + "-missing").Error);
    }

    [Fact]
    public void Load_MetricsTokenFile_IsRead_AndAShortOneMissingOneOrTheHostSecret_IsRefused()
    {
        var secret = Path.Combine(_dir.Path, "secret");
        File.WriteAllText(secret, "the-host-secret-0123456789\n");
        string Token(string name, string text) { var f = Path.Combine(_dir.Path, name); File.WriteAllText(f, text); return f; }

        var (options, error) = Load("--data", _dir.Path, "--secret-file", secret, "--metrics-token-file", Token("good", "scraper-0123456789abcdef\n"));
        Assert.Null(error);
        Assert.Equal("scraper-0123456789abcdef", options!.MetricsToken);
        Assert.Null(Load("--data", _dir.Path, "--secret-file", secret).Options!.MetricsToken);

        Assert.Contains("at least 16 characters", Load("--data", _dir.Path, "--secret-file", secret, "--metrics-token-file", Token("short", "abc")).Error);
        Assert.Contains("cannot read", Load("--data", _dir.Path, "--secret-file", secret, "--metrics-token-file", Path.Combine(_dir.Path, "none")).Error);
        Assert.Contains("holds the host secret", Load("--data", _dir.Path, "--secret-file", secret, "--metrics-token-file", secret).Error);
    }

    [Theory]
    [InlineData("--accelerator", "xen", "--accelerator")]
    [InlineData("--accelerator", "1", "--accelerator")]
    [InlineData("--stop-timeout", "-1", "--stop-timeout")]
    [InlineData("--stop-timeout", "soon", "--stop-timeout")]
    [InlineData("--vnc-display", "-3", "--vnc-display")]
    [InlineData("--images", "/nonexistent/images", "does not exist")]
    [InlineData("--vmmp-port", "65536", "--vmmp-port")]
    [InlineData("--vmmp-port", "-1", "--vmmp-port")]
    [InlineData("--heartbeat-interval", "0", "--heartbeat-interval")]
    [InlineData("--urls", "http://alpha.example:7001", "--urls")]
    [InlineData("--forward-address", "::1", "--forward-address")]
    [InlineData("--forward-address", "localhost", "--forward-address")]
    [InlineData("--cores", "0", "--cores")]
    [InlineData("--cores", "100000", "--cores")]
    [InlineData("--cores", "two", "--cores")]
    [InlineData("--cgroup-parent", "a/b", "--cgroup-parent")]
    [InlineData("--cgroup-parent", "..", "--cgroup-parent")]
    [InlineData("--private-networks", "yes", "--private-networks must be on or off")]
    [InlineData("--vmmp-max-connections", "0", "--vmmp-max-connections")]
    [InlineData("--vmmp-max-per-peer", "many", "--vmmp-max-per-peer")]
    [InlineData("--vmmp-max-per-peer", "33", "cannot exceed the connection limit")]
    [InlineData("--vmmp-first-line-timeout", "0", "--vmmp-first-line-timeout")]
    [InlineData("--vmmp-connection-lifetime", "never", "--vmmp-connection-lifetime")]
    [InlineData("--vmmp-log-refusals", "-1", "--vmmp-log-refusals")]
    public void Load_BadValue_IsRefusedNamingTheFlag(string flag, string value, string reason)
    {
        var (options, error) = Load("--data", _dir.Path, "--secret-file", WriteSecret(), flag, value);

        Assert.Null(options);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Load_PrivateNetworks_AreOnUnlessTurnedOff()
    {
        Assert.True(Load("--data", _dir.Path, "--secret-file", WriteSecret()).Options!.PrivateNetworks);
        Assert.True(Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--private-networks", "on").Options!.PrivateNetworks);
        Assert.False(Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--private-networks", "off").Options!.PrivateNetworks);
    }

    [Fact]
    public void Load_ForwardAddress_IsLoopbackUnlessGiven()
    {
        Assert.Equal("127.0.0.1", Load("--data", _dir.Path, "--secret-file", WriteSecret()).Options!.ForwardAddress.ToString());
        Assert.Equal("192.0.2.7", Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--forward-address", "192.0.2.7").Options!.ForwardAddress.ToString());
    }

    [Fact]
    public void Load_CoresAndCgroupParent_DefaultToThisHostsProcessorsAndVirtuoso()
    {
        var defaults = Load("--data", _dir.Path, "--secret-file", WriteSecret()).Options!;
        Assert.Equal((Environment.ProcessorCount, "virtuoso"), (defaults.Cores, defaults.CgroupParent));
        var given = Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--cores", "1", "--cgroup-parent", "off").Options!;
        Assert.Equal((1, "off"), (given.Cores, given.CgroupParent));
    }

    [Fact]
    public void Load_DataDirectoryTooLongForUnixSockets_IsRefused()
    {
        var (_, error) = Load("--data", "/tmp/" + new string('d', 80), "--secret-file", WriteSecret());

        Assert.Contains("too long", error);
    }

    private string WriteSecret()
    {
        var path = Path.Combine(_dir.Path, "secret");
        File.WriteAllText(path, "s3cret");
        return path;
    }

    [Fact]
    public void Urls_MustBeHttps_WithACertificate_AndHttp_Without_Issue20()
    {
        var dir = _dir.Sub("tls");
        using var authority = Virtuoso.Contracts.Agent.MarketCertificates.CreateAuthority("test market", DateTimeOffset.UtcNow);
        using var certificate = Virtuoso.Contracts.Agent.MarketCertificates.IssueWithKey(authority, Virtuoso.Contracts.Agent.MarketIdentity.Host("alpha"),
            DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        File.WriteAllText(Path.Combine(dir, "agent.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "agent.key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(dir, "ca.crt"), authority.ExportCertificatePem());
        string[] tls = ["--name", "alpha", "--data", _dir.Path, "--secret-file", WriteSecret(),
            "--tls-cert", Path.Combine(dir, "agent.crt"), "--tls-key", Path.Combine(dir, "agent.key"), "--tls-ca", Path.Combine(dir, "ca.crt")];

        var (options, error) = Load([.. tls, "--urls", "https://10.1.2.3:7001"]);
        Assert.Null(error);
        Assert.Equal((System.Net.IPAddress.Parse("10.1.2.3"), true), (options!.ListenAddress, options.Tls is not null));

        Assert.Contains("serves HTTPS only", Load([.. tls, "--urls", "http://10.1.2.3:7001"]).Error);
        Assert.Contains("http://127.0.0.1:7002 is not https://", Load([.. tls, "--urls", "https://10.1.2.3:7001;http://127.0.0.1:7002"]).Error);
        Assert.Contains("serves https:// only with its certificate", Load("--data", _dir.Path, "--secret-file", WriteSecret(), "--urls", "https://10.1.2.3:7001").Error);
    }
}
