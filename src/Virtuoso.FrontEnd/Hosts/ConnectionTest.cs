using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Agents;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>What went wrong calling an agent, before it is put in words (<see cref="ConnectionVerdict.Describe"/>). Public only for the theories that name each kind.</summary>
public enum ConnectionFault { None, Refused, Timeout, NameNotResolved, Unreachable, WrongSecret, VersionMismatch, NotAnAgent, AgentError, CertificateRefused }

/// <summary>
/// What one connection test observed: the fault (None: everything answered as it should), where, and what the agent said
/// of itself. <paramref name="Status"/> is the HTTP status of an answer that was not the expected one.
/// </summary>
internal sealed record ConnectionFacts(ConnectionFault Fault, string Address, int Port, TimeSpan? Latency = null, AgentHealth? Health = null,
    int? Status = null, string? Detail = null);

/// <summary>
/// Issue 18: the verdict of a connection test as a stable code and a sentence a provider can act on. Pure: what the probe
/// observed in, words out, so every kind of failure has its test.
/// </summary>
internal static class ConnectionVerdict
{
    /// <summary>How long a test waits for each of its two calls.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The fault behind an exception of an agent call that got no HTTP answer.</summary>
    public static ConnectionFault FaultOf(Exception e)
    {
        if (e is OperationCanceledException or TimeoutException) return ConnectionFault.Timeout;
        if (e is JsonException) return ConnectionFault.NotAnAgent;
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is System.Security.Authentication.AuthenticationException)
                return ConnectionFault.CertificateRefused;
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException s)
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => ConnectionFault.Refused,
                    SocketError.TimedOut => ConnectionFault.Timeout,
                    SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData or SocketError.NoRecovery => ConnectionFault.NameNotResolved,
                    _ => ConnectionFault.Unreachable,
                };
        return ConnectionFault.Unreachable;
    }

    /// <summary>The answer of a test: code, sentence, and what the agent reported when it answered.</summary>
    public static HostTestResponse Describe(ConnectionFacts f)
    {
        var at = $"{f.Address}:{f.Port}";
        var health = f.Health;
        var latency = f.Latency is { } l ? (long?)Math.Max(0, (long)Math.Round(l.TotalMilliseconds)) : null;
        var seconds = (int)Timeout.TotalSeconds;
        var (code, message) = f.Fault switch
        {
            ConnectionFault.None => (ConnectionCodes.Ok,
                $"The agent {health?.Host} at {at} answered in {latency} ms and accepted the secret." +
                (health?.Bogomips is { } b ? $" It measures {b} bogomips." : " It does not report its bogomips.")),
            ConnectionFault.Refused => (ConnectionCodes.Refused,
                $"Connection refused: nothing listens on {at}. Is the agent running (systemctl status virtuoso-agent), started with --urls http://0.0.0.0:{f.Port}?"),
            ConnectionFault.Timeout => (ConnectionCodes.Timeout,
                $"No answer from {at} within {seconds} s: a firewall may drop the connection (open TCP port {f.Port} to the marketplace), or the address is wrong."),
            ConnectionFault.NameNotResolved => (ConnectionCodes.NameNotResolved,
                $"The name {f.Address} could not be resolved: check the agent's address."),
            ConnectionFault.Unreachable => (ConnectionCodes.Unreachable,
                $"{f.Address} cannot be reached" + (f.Detail is { } d ? $" ({d})" : "") + ": check the address and the network between the marketplace and the host."),
            ConnectionFault.WrongSecret => (ConnectionCodes.WrongSecret,
                $"Wrong secret: the agent at {at} refused the secret stored for this host. Start the agent with this host's secret, or replace the secret here with the agent's."),
            ConnectionFault.VersionMismatch => (ConnectionCodes.VersionMismatch,
                $"Version mismatch: the agent at {at} speaks control protocol {(health?.Protocol is { } p ? p.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none (it is older)")}" +
                (health?.Version is { } v ? $" (build {v})" : "") + $", this marketplace speaks {AgentProtocol.Current}: install the agent of this marketplace's version."),
            ConnectionFault.NotAnAgent => (ConnectionCodes.NotAnAgent,
                $"Something answers at {at}, but not a Virtuoso agent" + (f.Status is { } s ? $" (HTTP {s} to /v1/health)" : "") + ": check the port."),
            ConnectionFault.CertificateRefused => (ConnectionCodes.CertificateRefused,
                $"TLS with the agent at {at} failed" + (f.Detail is { } d3 ? $" ({d3})" : "") + ": the marketplace accepts only this host's current certificate " +
                "from its own authority, and calls agents without one only if its operator allows it. On the host: virtuoso-agent enroll (or a new install command), then restart the agent."),
            _ => (ConnectionCodes.AgentError,
                $"The agent at {at} answered with an error" + (f.Status is { } s2 ? $" (HTTP {s2})" : "") + (f.Detail is { } d2 ? $": {d2}" : "") + "; see its log (journalctl -u virtuoso-agent)."),
        };
        return new HostTestResponse(f.Fault == ConnectionFault.None, code, message, latency, health?.Bogomips, health?.Version);
    }
}

/// <summary>
/// Issue 18: calls an agent the way the marketplace will use it, and says what failed: its health (is anything there, and
/// does it speak our protocol; an agent tells the rest only to the right secret), then its machine list with the secret (is
/// the secret right). The host monitor
/// runs the same test every few seconds, so a host's status and its "Test connection" never disagree.
/// </summary>
internal sealed class ConnectionTester(IHttpClientFactory factory, AgentConnector connector, Microsoft.Extensions.Options.IOptions<MarketOptions> options, TimeProvider clock)
{
    /// <summary>What a test found: the facts, and (when everything answered) the agent's health and machines.</summary>
    public sealed record Result(ConnectionFacts Facts, List<AgentMachine>? Machines)
    {
        public HostTestResponse Answer => ConnectionVerdict.Describe(Facts);
        public bool Ok => Facts.Fault == ConnectionFault.None;
        public AgentHealth? Health => Facts.Health;
    }

    /// <summary>Tests a host's agent as the marketplace calls it (over TLS when the host has a certificate, issue 20).</summary>
    public async Task<Result> TestAsync(HostRow host, CancellationToken ct = default)
    {
        using var client = connector.ClientFor(host);
        return await TestAsync(host.Address, (int)host.Port, host.Secret, client, path => AgentConnector.Url(host, path), ct);
    }

    /// <summary>
    /// Tests an agent not added yet: over TLS first (issue 20: any host's certificate of this marketplace's authority, as no
    /// host row says which yet); an agent that does not speak TLS is then tried in cleartext, when the operator allows it.
    /// </summary>
    public async Task<Result> TestAsync(string address, int port, string secret, CancellationToken ct = default)
    {
        using var probe = new HttpClient(connector.ProbeHandler(), disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var tls = await TestAsync(address, port, secret, probe, path => Url(address, port, path, "https"), ct);
        if (tls.Facts.Fault is ConnectionFault.CertificateRefused or ConnectionFault.Unreachable && options.Value.AllowCleartextAgents)
            return await TestAsync(address, port, secret, factory.CreateClient(AgentClient.HttpClientName), path => Url(address, port, path), ct);
        return tls;
    }

    private async Task<Result> TestAsync(string address, int port, string secret, HttpClient client, Func<string, Uri> url, CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        AgentHealth? health;
        TimeSpan latency;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(ConnectionVerdict.Timeout);
            // Issue 20: with the secret, an agent tells its name, methods and bogomips; without it (or a wrong one), only that
            // it is an agent and its protocol, which is all this step needs. The next call tells whether the secret is right.
            using var healthRequest = new HttpRequestMessage(HttpMethod.Get, url(AgentRoutes.Health));
            healthRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using var response = await client.SendAsync(healthRequest, cts.Token);
            latency = clock.GetElapsedTime(started);
            if (!response.IsSuccessStatusCode)
                return new(new(ConnectionFault.NotAnAgent, address, port, latency, Status: (int)response.StatusCode), null);
            health = await response.Content.ReadFromJsonAsync<AgentHealth>(JsonSerializerOptions.Web, cts.Token);
            if (health is null || string.IsNullOrEmpty(health.Host) && health.Status != AgentHealth.Ok)
                return new(new(ConnectionFault.NotAnAgent, address, port, latency, Status: (int)response.StatusCode), null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or NotSupportedException && !ct.IsCancellationRequested)
        {
            return new(new(e is NotSupportedException ? ConnectionFault.NotAnAgent : ConnectionVerdict.FaultOf(e), address, port, Detail: Reason(e)), null);
        }
        if (health.Protocol != AgentProtocol.Current)
            return new(new(ConnectionFault.VersionMismatch, address, port, latency, health), null);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(ConnectionVerdict.Timeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, url(AgentRoutes.Machines));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using var response = await client.SendAsync(request, cts.Token);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                return new(new(ConnectionFault.WrongSecret, address, port, latency, health, (int)response.StatusCode), null);
            if (!response.IsSuccessStatusCode)
                return new(new(ConnectionFault.AgentError, address, port, latency, health, (int)response.StatusCode, response.ReasonPhrase), null);
            var machines = await response.Content.ReadFromJsonAsync<List<AgentMachine>>(JsonSerializerOptions.Web, cts.Token);
            return new(new(ConnectionFault.None, address, port, latency, health), machines ?? []);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or NotSupportedException && !ct.IsCancellationRequested)
        {
            return new(new(e is JsonException or NotSupportedException ? ConnectionFault.AgentError : ConnectionVerdict.FaultOf(e), address, port, latency, health,
                Detail: Reason(e)), null);
        }
    }

    private static Uri Url(string address, int port, string path, string scheme = "http") =>
        new($"{scheme}://{(IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address)}:{port}{path}");

    private static string Reason(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException or System.Security.Authentication.AuthenticationException) return inner.Message;
        return e.Message;
    }
}
