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

        var (csr, key) = MarketCertificates.NewRequest(verb == "join" ? "joining" : flags["--name"]);
        using (key)
        {
            var (path, body) = verb == "join"
                ? ("/api/v1/agents/join", (object)new JoinRequest(flags["--token"], secret, csr))
                : ("/api/v1/agents/certificate", new EnrollRequest(flags["--name"], secret, csr));
            JoinResponse? answer;
            try
            {
                using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
                http.Timeout = TimeSpan.FromSeconds(30);
                using var response = await http.PostAsJsonAsync(new Uri(market, path), body, JsonSerializerOptions.Web);
                if (!response.IsSuccessStatusCode)
                {
                    var (code, detail) = await ProblemAsync(response);
                    return Fail(stderr, verb, $"the marketplace refused (HTTP {(int)response.StatusCode}{(code is null ? "" : " " + code)})" +
                        (detail is null ? "" : ": " + detail), 1);
                }
                answer = await response.Content.ReadFromJsonAsync<JoinResponse>(JsonSerializerOptions.Web);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return Fail(stderr, verb, $"cannot reach the marketplace at {market}: {e.Message}", 1);
            }
            if (answer is not { Certificate: { } certificatePem, Authority: { } authorityPem })
                return Fail(stderr, verb, "the marketplace answered without a certificate (is it older than this agent?)", 1);
            // Believe nothing: the certificate must be for our key, from the authority given, for the host named.
            try
            {
                using var certificate = X509Certificate2.CreateFromPem(certificatePem);
                using var authority = X509Certificate2.CreateFromPem(authorityPem);
                using var theirs = certificate.GetECDsaPublicKey();
                if (theirs is null || !theirs.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                    return Fail(stderr, verb, "the marketplace's certificate is not for the key made here", 1);
                if (MarketCertificates.Verify(certificate, authority, DateTimeOffset.UtcNow) != MarketIdentity.Host(answer.Name))
                    return Fail(stderr, verb, $"the marketplace's certificate is not a valid one for host {answer.Name} from the authority it sent", 1);
            }
            catch (CryptographicException e)
            {
                return Fail(stderr, verb, $"the marketplace's answer holds no usable certificate: {e.Message}", 1);
            }
            WriteFile(Path.Combine(dir, KeyFile), key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            WriteFile(Path.Combine(dir, CertificateFile), certificatePem, readable);
            WriteFile(Path.Combine(dir, AuthorityFile), authorityPem, readable);
            await stdout.WriteLineAsync($"name={answer.Name}");
            await stdout.WriteLineAsync($"port={answer.Port}");
            await stdout.WriteLineAsync($"expires={answer.CertificateExpiresAt:O}");
            return 0;
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
