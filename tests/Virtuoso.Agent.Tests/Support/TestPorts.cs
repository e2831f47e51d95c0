using System.Net;
using System.Net.Sockets;

namespace Virtuoso.Agent.Tests.Support;

internal static class TestPorts
{
    /// <summary>A loopback TCP port free a moment ago (the kernel's choice, then released).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
