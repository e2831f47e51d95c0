namespace Virtuoso.Agent.Tests.Support;

internal static class TestOptions
{
    public static AgentOptions For(string dataDirectory, string? imagesDirectory = null) => new()
    {
        Name = "test-host",
        DataDirectory = dataDirectory,
        ImagesDirectory = imagesDirectory,
        Secret = AgentFactory.Secret,
        Accelerator = AcceleratorMode.Tcg,
        StopTimeout = TimeSpan.FromSeconds(1),
    };
}
