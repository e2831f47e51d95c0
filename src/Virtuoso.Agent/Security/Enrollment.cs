using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Security;

/// <summary>
/// Issue 20: <c>virtuoso-agent join</c> and <c>virtuoso-agent enroll</c>, how a host gets its key and certificate without
/// openssl. Both make a new ECDSA P-256 key here (it never leaves the host), send a certificate request for it to the
/// marketplace, and write <c>agent.key</c> (mode 600), <c>agent.crt</c> and <c>ca.crt</c> into <c>--dir</c>, the files of the
/// agent's <c>--tls-key</c>, <c>--tls-cert</c> and <c>--tls-ca</c>:
/// <list type="bullet">
/// <item><c>join --market URL --token vj_... --secret-file FILE --dir DIR</c>: with the host's one-time join token
/// (<c>POST /api/v1/agents/join</c>; the install script runs it), which also gives the marketplace the agent's secret;</item>
/// <item><c>enroll --market URL --name NAME --secret-file FILE --dir DIR</c>: a host added with a secret, or a renewal
/// (<c>POST /api/v1/agents/certificate</c>).</item>
/// </list>
/// On success stdout is <c>name=NAME</c>, <c>port=PORT</c> and <c>expires=ISO-8601</c>, one a line (the install script reads
/// them); a failure is one line on stderr and exit 1 (2 for bad usage), and changes no file.
/// </summary>
internal static class Enrollment
{
    public const string KeyFile = "agent.key";
    public const string CertificateFile = "agent.crt";
    public const string AuthorityFile = "ca.crt";

    public static bool IsCommand(string[] args) => args is ["join" or "enroll", ..];

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler = null)
    {
        var verb = args[0];
        var usage = verb == "join"
            ? "usage: virtuoso-agent join --market URL --token vj_TOKEN --secret-file FILE --dir DIR"
            : "usage: virtuoso-agent enroll --market URL --name NAME --secret-file FILE --dir DIR";
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var allowed = verb == "join" ? new[] { "--market", "--token", "--secret-file", "--dir" } : ["--market", "--name", "--secret-file", "--dir"];
        for (var i = 1; i < args.Length; i += 2)
        {
            if (!allowed.Contains(args[i]))
                return Fail(stderr, verb, $"unknown option '{args[i]}' ({usage})", 2);
            if (i + 1 >= args.Length)
                return Fail(stderr, verb, $"{args[i]} needs a value", 2);
            flags[args[i]] = args[i + 1];
        }
        if (allowed.FirstOrDefault(f => !flags.ContainsKey(f)) is { } missing)
            return Fail(stderr, verb, $"{missing} is required ({usage})", 2);
        if (!Uri.TryCreate(flags["--market"].TrimEnd('/'), UriKind.Absolute, out var market) || market.Scheme is not ("http" or "https"))
            return Fail(stderr, verb, $"--market must be the marketplace's http:// or https:// address, not '{flags["--market"]}'", 2);
        if (verb == "join" && !flags["--token"].StartsWith("vj_", StringComparison.Ordinal))
            return Fail(stderr, verb, $"'{flags["--token"]}' is not a join token: they start with vj_", 2);
        string secret;
        try
        {
            secret = (await File.ReadAllTextAsync(flags["--secret-file"])).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, verb, $"cannot read --secret-file {flags["--secret-file"]}: {e.Message}", 1);
        }
        if (secret.Length == 0)
            return Fail(stderr, verb, $"--secret-file {flags["--secret-file"]} is empty", 1);
        var dir = flags["--dir"];
        if (!Directory.Exists(dir))
            return Fail(stderr, verb, $"--dir {dir} is not a directory", 1);

        // The secret travels in the request's body: readable on the way to a marketplace served over plain HTTP (./run's, on
        // this machine, is; a real one serves HTTPS: docs/operations.md, HTTPS).
        if (market.Scheme == "http" && !market.IsLoopback)
            await stderr.WriteLineAsync($"virtuoso-agent {verb}: warning: {market} is plain HTTP, so this host's secret crosses the network readable; " +
                "use the marketplace's https:// address where it has one");
        var (answer, failure) = await RequestAsync(market, verb == "join" ? null : flags["--name"], verb == "join" ? flags["--token"] : null, secret,
            new Files(Path.Combine(dir, KeyFile), Path.Combine(dir, CertificateFile), Path.Combine(dir, AuthorityFile)), expectedAuthority: null, handler);
        if (answer is null)
            return Fail(stderr, verb, failure!, 1);
        await stdout.WriteLineAsync($"name={answer.Name}");
        await stdout.WriteLineAsync($"port={answer.Port}");
        await stdout.WriteLineAsync($"expires={answer.CertificateExpiresAt:O}");
        if (answer.Ports is { } ports)
            await stdout.WriteLineAsync($"ports={ports}");
        return 0;
    }

    /// <summary>Where a host's key, certificate and authority are written.</summary>
    public sealed record Files(string Key, string Certificate, string Authority);

    /// <summary>
    /// Makes a key, asks the marketplace at <paramref name="market"/> for a certificate on it (with the join
    /// <paramref name="token"/>, or as host <paramref name="name"/> with its <paramref name="secret"/>), checks the answer and
    /// only then writes the three files. With <paramref name="expectedAuthority"/> (a renewal), an answer from another
    /// authority is refused: a running agent trusts only the authority it started with.
    /// Returns the answer, or null and one line saying why (nothing written).
    /// </summary>
    public static async Task<(JoinResponse? Answer, string? Failure)> RequestAsync(Uri market, string? name, string? token, string secret, Files files,
        X509Certificate2? expectedAuthority, HttpMessageHandler? handler = null, CancellationToken ct = default)
    {
        var (csr, key) = MarketCertificates.NewRequest(name ?? "joining");
        using (key)
        {
            var (path, body) = token is not null
                ? ("/api/v1/agents/join", (object)new JoinRequest(token, secret, csr))
                : ("/api/v1/agents/certificate", new EnrollRequest(name!, secret, csr));
            JoinResponse? answer;
            try
            {
                using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
                http.Timeout = TimeSpan.FromSeconds(30);
                using var response = await http.PostAsJsonAsync(new Uri(market, path), body, JsonSerializerOptions.Web, ct);
                if (!response.IsSuccessStatusCode)
                {
                    var (code, detail) = await ProblemAsync(response);
                    return (null, $"the marketplace refused (HTTP {(int)response.StatusCode}{(code is null ? "" : " " + code)})" + (detail is null ? "" : ": " + detail));
                }
                answer = await response.Content.ReadFromJsonAsync<JoinResponse>(JsonSerializerOptions.Web, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return (null, $"cannot reach the marketplace at {market}: {e.Message}");
            }
            if (answer is not { Certificate: { } certificatePem, Authority: { } authorityPem })
                return (null, "the marketplace answered without a certificate (is it older than this agent?)");
            // Believe nothing: the certificate must be for our key, from the authority given, for the host named.
            try
            {
                using var certificate = X509Certificate2.CreateFromPem(certificatePem);
                using var authority = X509Certificate2.CreateFromPem(authorityPem);
                using var theirs = certificate.GetECDsaPublicKey();
                if (theirs is null || !theirs.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                    return (null, "the marketplace's certificate is not for the key made here");
                if (MarketCertificates.Verify(certificate, authority, DateTimeOffset.UtcNow) != MarketIdentity.Host(answer.Name) || name is not null && answer.Name != name)
                    return (null, $"the marketplace's certificate is not a valid one for host {name ?? answer.Name} from the authority it sent");
                if (expectedAuthority is not null && !authority.RawDataMemory.Span.SequenceEqual(expectedAuthority.RawDataMemory.Span))
                    return (null, "the marketplace answered with another authority than this agent's: if the marketplace replaced its authority, " +
                        "run virtuoso-agent enroll by hand and restart the agent (docs/operations.md)");
            }
            catch (CryptographicException e)
            {
                return (null, $"the marketplace's answer holds no usable certificate: {e.Message}");
            }
            WriteFile(files.Key, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            WriteFile(files.Authority, authorityPem, readable);
            WriteFile(files.Certificate, certificatePem, readable); // last: a running agent takes the new pair when this file changes
            return (answer, null);
        }
    }

    /// <summary>A new file in place of the old, made with its mode (the key is never readable by others, not even for a moment).</summary>
    private static void WriteFile(string path, string text, UnixFileMode mode)
    {
        var temp = path + ".new";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
        using (var writer = new StreamWriter(stream))
            writer.Write(text.EndsWith('\n') ? text : text + "\n");
        File.SetUnixFileMode(temp, mode);
        File.Move(temp, path, overwrite: true);
    }

    private static async Task<(string? Code, string? Detail)> ProblemAsync(HttpResponseMessage response)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            return (problem.TryGetProperty("code", out var c) ? c.GetString() : null, problem.TryGetProperty("detail", out var d) ? d.GetString() : null);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static int Fail(TextWriter stderr, string verb, string message, int exit)
    {
        stderr.WriteLine($"virtuoso-agent {verb}: {message}");
        return exit;
    }
}
