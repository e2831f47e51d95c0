using System.Net;
using System.Net.Sockets;

namespace Virtuoso.FrontEnd.Tests.Support;

internal static class Ports
{
    /// <summary>A loopback port nothing listens on (bound, then released): a host whose agent is not running.</summary>
    public static int Closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
