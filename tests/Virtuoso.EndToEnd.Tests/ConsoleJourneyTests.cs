using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Virtuoso.Contracts.Api;
using Virtuoso.EndToEnd.Tests.Support;
using Virtuoso.Testing;

namespace Virtuoso.EndToEnd.Tests;

/// <summary>
/// The console on real parts (design §7, issue 3 item 2): the real front-end's console WebSocket, proxied to the real
/// agent's bridge, into real QEMU's VNC server, showing the project's Linux guest; keys typed over VNC run in the
/// guest's VGA shell, and what they print arrives on the serial log.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class ConsoleJourneyTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Rfb = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Buyer_TypesIntoTheGuestsScreenThroughTheFrontEnd_AndTheSerialLogShowsIt()
    {
        Assert.True(Repo.GuestImageBuilt, $"the guest image is not built in {Repo.Images}: run guest/build-image.sh (./test does)");
        await using var m = await Marketplace.StartAsync("alpha");
        var alpha = m.Agents["alpha"];
        (await m.CliAsync("p", "signup", "console-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "console-provider", "--password", "provider-pass")).Ok();
        (await m.CliAsync("p", "host", "add", "alpha", "--address", "127.0.0.1", "--port", alpha.Port.ToString(), "--processor", "x86_64",
            "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
            "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
            "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", alpha.Secret)).Ok();
        (await m.CliAsync("b", "signup", "console-buyer", "--password", "buyer-pass-1", "--email", "b@example.com", "--buyer")).Ok();
        (await m.CliAsync("b", "login", "console-buyer", "--password", "buyer-pass-1")).Ok();
        var id = (await m.CliAsync("b", "--json", "register", "--config", "linux-busybox", "--storage-bid", "30", "--running-bid", "3")).Ok().Json.GetProperty("id").GetGuid();
        (await m.CliAsync("b", "store", id.ToString(), "--host", "alpha")).Ok();
        (await m.CliAsync("b", "start", id.ToString())).Ok();

        using var http = new HttpClient { BaseAddress = new Uri(m.Url) };
        var login = await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest("console-buyer", "buyer-pass-1"));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await login.Content.ReadFromJsonAsync<SessionResponse>(JsonSerializerOptions.Web))!.Token);
        Task<string> Serial() => http.GetStringAsync($"/api/v1/machines/{id:D}/serial");
        await SerialConsole.WaitForAsync(Serial, "Virtuoso guest ready", Boot);
        Assert.Equal($"{m.Url}/machines/{id:D}/console\n", (await m.CliAsync("b", "console", id.ToString())).Ok().Stdout);

        var ticketAnswer = await http.PostAsync($"/api/v1/machines/{id:D}/console", null);
        Assert.True(ticketAnswer.IsSuccessStatusCode, await ticketAnswer.Content.ReadAsStringAsync());
        var ticket = (await ticketAnswer.Content.ReadFromJsonAsync<ConsoleTicketResponse>(JsonSerializerOptions.Web))!;

        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Origin", m.Url); // as the console page would
        await ws.ConnectAsync(new Uri(m.Url.Replace("http://", "ws://") + ticket.WebSocketPath), CancellationToken.None);
        await using var vnc = RfbClient.Over(ws, Rfb);
        await vnc.HandshakeAsync(ticket.Password);
        Assert.Equal($"QEMU ({id:D})", vnc.Name);
        var frame = await vnc.FrameAsync();
        Assert.True(RfbClient.ShowsSomething(frame, vnc.BytesPerPixel), "the guest's screen is blank");

        // The VGA console's shell may still be starting: type until the line arrives on the serial port.
        var before = (await Serial()).Length;
        for (var attempt = 1; ; attempt++)
        {
            await vnc.TypeAsync("echo vnc-typed-ok > /dev/ttyS0\n");
            try
            {
                await SerialConsole.WaitForAsync(Serial, "vnc-typed-ok", TimeSpan.FromSeconds(15), before);
                break;
            }
            catch (TimeoutException) when (attempt < 3)
            {
            }
        }

        // The ticket was used: it opens nothing twice.
        using var again = new ClientWebSocket();
        again.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => again.ConnectAsync(new Uri(m.Url.Replace("http://", "ws://") + ticket.WebSocketPath), CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, again.HttpStatusCode);
    }
}
