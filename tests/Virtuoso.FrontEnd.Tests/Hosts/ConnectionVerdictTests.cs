using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Hosts;

namespace Virtuoso.FrontEnd.Tests.Hosts;

/// <summary>Issue 18: every kind of connection failure → its stable code and a sentence saying what to do; exceptions → kinds.</summary>
public sealed class ConnectionVerdictTests
{
    private static readonly AgentHealth Healthy = new("virt8", "kvm", 2, 7101, ["SCP"], AgentProtocol.Current, "1.0.0+abc", 8800);

    private static HostTestResponse Of(ConnectionFault fault, AgentHealth? health = null, int? status = null, string? detail = null) =>
        ConnectionVerdict.Describe(new ConnectionFacts(fault, "10.0.0.8", 7001, fault is ConnectionFault.None or ConnectionFault.WrongSecret or ConnectionFault.VersionMismatch
            ? TimeSpan.FromMilliseconds(3.4) : null, health, status, detail));

    [Fact]
    public void Ok_SaysTheRoundTripAndTheBogomips()
    {
        var ok = Of(ConnectionFault.None, Healthy);

        Assert.Equal((true, ConnectionCodes.Ok, 3L, 8800L, "1.0.0+abc"), (ok.Ok, ok.Code, ok.LatencyMs, ok.Bogomips, ok.AgentVersion));
        Assert.Equal("The agent virt8 at 10.0.0.8:7001 answered in 3 ms and accepted the secret. It measures 8800 bogomips.", ok.Message);
    }

    [Theory]
    [InlineData(ConnectionFault.Refused, ConnectionCodes.Refused, "Connection refused: nothing listens on 10.0.0.8:7001")]
    [InlineData(ConnectionFault.Timeout, ConnectionCodes.Timeout, "No answer from 10.0.0.8:7001 within 5 s: a firewall may drop the connection (open TCP port 7001")]
    [InlineData(ConnectionFault.NameNotResolved, ConnectionCodes.NameNotResolved, "The name 10.0.0.8 could not be resolved")]
    [InlineData(ConnectionFault.Unreachable, ConnectionCodes.Unreachable, "10.0.0.8 cannot be reached")]
    [InlineData(ConnectionFault.WrongSecret, ConnectionCodes.WrongSecret, "Wrong secret: the agent at 10.0.0.8:7001 refused the secret stored for this host")]
    [InlineData(ConnectionFault.VersionMismatch, ConnectionCodes.VersionMismatch, "Version mismatch: the agent at 10.0.0.8:7001 speaks control protocol none (it is older)")]
    [InlineData(ConnectionFault.NotAnAgent, ConnectionCodes.NotAnAgent, "Something answers at 10.0.0.8:7001, but not a Virtuoso agent")]
    [InlineData(ConnectionFault.AgentError, ConnectionCodes.AgentError, "The agent at 10.0.0.8:7001 answered with an error")]
    public void EachFailure_HasItsCodeAndAPlainSentence(ConnectionFault fault, string code, string begins)
    {
        var failed = Of(fault);

        Assert.Equal((false, code), (failed.Ok, failed.Code));
        Assert.StartsWith(begins, failed.Message);
        Assert.DoesNotContain("Exception", failed.Message);
    }

    [Fact]
    public void VersionMismatch_NamesBothProtocolsAndTheAgentsBuild()
    {
        var failed = Of(ConnectionFault.VersionMismatch, Healthy with { Protocol = AgentProtocol.Current + 1, Version = "2.0.0+def" });

        Assert.Contains($"speaks control protocol {AgentProtocol.Current + 1} (build 2.0.0+def), this marketplace speaks {AgentProtocol.Current}", failed.Message);
        Assert.Equal("2.0.0+def", failed.AgentVersion);
    }

    [Fact]
    public void AgentError_SaysTheStatus() => Assert.Contains("(HTTP 500)", Of(ConnectionFault.AgentError, Healthy, 500).Message);

    [Fact]
    public void EveryFault_HasADistinctCode() =>
        Assert.Equal(Enum.GetValues<ConnectionFault>().Length, Enum.GetValues<ConnectionFault>().Select(f => Of(f, Healthy).Code).Distinct().Count());

    public static TheoryData<Exception, ConnectionFault> Exceptions => new()
    {
        { new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused)), ConnectionFault.Refused },
        { new HttpRequestException("no such host", new SocketException((int)SocketError.HostNotFound)), ConnectionFault.NameNotResolved },
        { new HttpRequestException("try again", new SocketException((int)SocketError.TryAgain)), ConnectionFault.NameNotResolved },
        { new HttpRequestException("no route", new SocketException((int)SocketError.HostUnreachable)), ConnectionFault.Unreachable },
        { new HttpRequestException("net down", new SocketException((int)SocketError.NetworkUnreachable)), ConnectionFault.Unreachable },
        { new HttpRequestException("timed out", new SocketException((int)SocketError.TimedOut)), ConnectionFault.Timeout },
        { new TaskCanceledException("the test's 5 s ran out"), ConnectionFault.Timeout },
        { new HttpRequestException("the server closed the connection"), ConnectionFault.Unreachable },
        { new JsonException("not JSON"), ConnectionFault.NotAnAgent },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void FaultOf_ReadsTheSocketErrorUnderTheHttpException(Exception e, ConnectionFault fault) => Assert.Equal(fault, ConnectionVerdict.FaultOf(e));
}
