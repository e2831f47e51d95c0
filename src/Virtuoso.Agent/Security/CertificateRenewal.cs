using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Issue 20: an agent renews its own certificate, so a host does not fall off the marketplace when its certificate ends
/// (they last 365 days). With <c>--renew-from https://MARKET</c> (the install script sets it), the agent checks at start and
/// every hour; once less than a third of its certificate's lifetime is left, it asks the marketplace for a new one as
/// <c>virtuoso-agent enroll</c> does (a new key made here, the host secret as proof, <c>POST /api/v1/agents/certificate</c>)
/// and writes it over <c>--tls-key</c>, <c>--tls-cert</c> and <c>--tls-ca</c>. Every link takes the new certificate within a
/// second (<see cref="AgentTls.Certificate"/>), and the front-end accepts only the new serial from then on. A refusal, an
/// unreachable marketplace or a file that cannot be written is logged and tried again five minutes later (the front-end may
/// already hold a serial whose answer was lost); nothing here stops the agent. An answer from another authority is never taken
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
        if (market.Scheme == "http" && !market.IsLoopback)
            PlainHttp(log, market);
        try
        {
            while (true)
            {
                bool failed;
                try
                {
                    failed = await RenewIfDueAsync(tls, market, stoppingToken) == Outcome.Failed;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // Nothing here may stop the agent (a full disk, files it cannot write): logged, tried again.
                    RenewalCrashed(log, e);
                    failed = true;
                }
                // After a failure sooner: the front-end may already hold the new serial whose answer was lost.
                await Task.Delay(failed ? RetryInterval : Interval, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    public static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(5);

    public enum Outcome { NotDue, Renewed, Failed }

    /// <summary>One check: renews when due.</summary>
    public async Task<Outcome> RenewIfDueAsync(AgentTls tls, Uri market, CancellationToken ct)
    {
        var current = tls.Certificate;
        var now = clock.GetUtcNow();
        if (!IsDue(current.NotBefore.ToUniversalTime(), current.NotAfter.ToUniversalTime(), now))
            return Outcome.NotDue;
        var files = new Enrollment.Files(options.TlsKeyFile!, tls.CertificateFile!, options.TlsAuthorityFile!);
        var (answer, failure) = await Enrollment.RequestAsync(market, options.Name, token: null, options.Secret, files, tls.Authority, ct: ct);
        if (answer is null)
        {
            ct.ThrowIfCancellationRequested(); // stopping, not failing
            RenewalFailed(log, current.NotAfter.ToUniversalTime(), market, failure!);
            return Outcome.Failed;
        }
        Renewed(log, answer.CertificateExpiresAt);
        return Outcome.Renewed;
    }

    [LoggerMessage(439, LogLevel.Warning, "this host's certificate ends at {NotAfter:u} and could not be renewed from {Market}: {Reason}; trying again in five minutes")]
    private static partial void RenewalFailed(ILogger logger, DateTime notAfter, Uri market, string reason);

    [LoggerMessage(441, LogLevel.Warning, "renewing this host's certificate failed; trying again in five minutes")]
    private static partial void RenewalCrashed(ILogger logger, Exception e);

    [LoggerMessage(442, LogLevel.Warning, "--renew-from {Market} is plain HTTP: each renewal sends this host's secret readable; use the marketplace's https:// address")]
    private static partial void PlainHttp(ILogger logger, Uri market);

    [LoggerMessage(440, LogLevel.Information, "this host's certificate was renewed by the marketplace, valid until {Expires:u}; every link uses it from now on")]
    private static partial void Renewed(ILogger logger, DateTimeOffset? expires);
}
