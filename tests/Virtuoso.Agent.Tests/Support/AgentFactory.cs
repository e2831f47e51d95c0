using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Agent.Vmm;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// An agent in the test process. With a <see cref="FakeVmm"/> it tests the API alone; without one it drives real
/// QEMU. Settings go through configuration exactly like the command-line flags.
/// </summary>
internal sealed class AgentFactory(string dataDirectory, IVmm? vmm = null, IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public const string Secret = "test-secret-0123456789abcdef";

    public string DataDirectory { get; } = dataDirectory;

    /// <summary>A client that presents the host secret.</summary>
    public HttpClient CreateAuthenticatedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", Secret);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("name", "test-host");
        builder.UseSetting("data", DataDirectory);
        builder.UseSetting("VIRTUOSO_AGENT_SECRET", Secret);
        builder.UseSetting("accelerator", "tcg");
        builder.UseSetting("stop-timeout", "1");
        builder.UseSetting("vmmp-port", "0"); // tests run in parallel: each agent takes a free VMMP port
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            builder.UseSetting(key, value);
        if (vmm is not null)
            builder.ConfigureTestServices(s => s.AddSingleton(vmm));
        if (services is not null)
            builder.ConfigureTestServices(services);
    }
}
