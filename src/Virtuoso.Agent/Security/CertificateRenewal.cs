using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Issue 20: an agent renews its own certificate, so a host does not fall off the marketplace when its certificate ends
/// (they last 365 days). With <c>--renew-from https://MARKET</c> (the install script sets it), the agent checks at start and
/// every hour; once less than a third of its certificate's lifetime is left, it asks the marketplace for a new one as
/// <c>virtuoso-agent enroll</c> does (a new key made here, the host secret as proof, <c>POST /api/v1/agents/certificate</c>)
/// and writes it over <c>--tls-key</c>, <c>--tls-cert</c> and <c>--tls-ca</c>. Every link takes the new certificate within a
/// second (<see cref="AgentTls.Certificate"/>), and the front-end accepts only the new serial from then on. A refusal or an
/// unreachable marketplace is logged and tried again an hour later; an answer from another authority is never taken
/// (replacing the authority is an operator's act: docs/operations.md).
/// </summary>
internal sealed partial class CertificateRenewal(AgentOptions options, TimeProvider clock, ILogger<CertificateRenewal> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Whether a certificate valid from <paramref name="notBefore"/> to <paramref name="notAfter"/> is due for renewal at <paramref name="now"/>.</summary>
    public static bool IsDue(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset now) =>
        notAfter - now < (notAfter - notBefore) / 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Tls is not { CertificateFile: not null } tls || options.RenewFrom is not { } market)
            return;
        try
        {
            do
                await RenewIfDueAsync(tls, market, stoppingToken);
            while (await WaitAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task<bool> WaitAsync(CancellationToken ct)
    {
        await Task.Delay(Interval, clock, ct);
        return true;
    }

    /// <summary>One check: renews when due. Returns whether a new certificate was written.</summary>
    public async Task<bool> RenewIfDueAsync(AgentTls tls, Uri market, CancellationToken ct)
    {
        var current = tls.Certificate;
        var now = clock.GetUtcNow();
        if (!IsDue(current.NotBefore.ToUniversalTime(), current.NotAfter.ToUniversalTime(), now))
            return false;
        var files = new Enrollment.Files(options.TlsKeyFile!, tls.CertificateFile!, options.TlsAuthorityFile!);
        var (answer, failure) = await Enrollment.RequestAsync(market, options.Name, token: null, options.Secret, files, tls.Authority, ct: ct);
        if (answer is null)
        {
            RenewalFailed(log, current.NotAfter.ToUniversalTime(), market, failure!);
            return false;
        }
        Renewed(log, answer.CertificateExpiresAt);
        return true;
    }

    [LoggerMessage(439, LogLevel.Warning, "this host's certificate ends at {NotAfter:u} and could not be renewed from {Market}: {Reason}; trying again in an hour")]
    private static partial void RenewalFailed(ILogger logger, DateTime notAfter, Uri market, string reason);

    [LoggerMessage(440, LogLevel.Information, "this host's certificate was renewed by the marketplace, valid until {Expires:u}; every link uses it from now on")]
    private static partial void Renewed(ILogger logger, DateTimeOffset? expires);
}
