using System.Net.Sockets;
using System.Text;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>Types into a guest's serial console through the agent's unix socket (the test's privilege as the host's owner).</summary>
internal static class SerialConsole
{
    public static async Task TypeAsync(string socketPath, string line)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        await s.SendAsync(Encoding.ASCII.GetBytes(line + "\n"));
        await Task.Delay(300);
    }

    /// <summary>Polls <paramref name="read"/> until its text contains <paramref name="expected"/> after offset <paramref name="from"/>.</summary>
    public static async Task<string> WaitForAsync(Func<Task<string>> read, string expected, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        var text = "";
        while (DateTime.UtcNow < deadline)
        {
            text = await read();
            if (text.Length > from && text.IndexOf(expected, from, StringComparison.Ordinal) >= 0) return text;
            await Task.Delay(250);
        }
        throw new TimeoutException($"'{expected}' did not appear within {timeout}; the console shows:\n{(text.Length > 2000 ? text[^2000..] : text)}");
    }
}
