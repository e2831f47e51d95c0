using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Virtuoso.Contracts.Api;
using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Web;

/// <summary>
/// Issue 20: the front-end serves HTTPS when given a certificate (Kestrel's own configuration, docs/operations.md "HTTPS"),
/// with HSTS and Secure cookies. The real process, a certificate made here, a client that trusts exactly that certificate.
/// </summary>
public sealed partial class HttpsTests
{
    [Fact]
    public async Task GivenACertificate_TheFrontEndServesHttps_WithHstsAndSecureCookies()
    {
        var dir = Directory.CreateTempSubdirectory("vt-e2e-https-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), key.ExportPkcs8PrivateKeyPem());

        var url = $"https://127.0.0.1:{ServiceProcess.FreePort()}";
        await using var fe = ServiceProcess.Start(Repo.Dll("Virtuoso.FrontEnd", "virtuoso-frontend"), ["--urls", url], new Dictionary<string, string>
        {
            ["VIRTUOSO_DATA"] = Path.Combine(dir, "fe"),
            ["Virtuoso__VmmpListen"] = "127.0.0.1:0",
            ["Virtuoso__SignupsPerAddressPerHour"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Kestrel__Certificates__Default__Path"] = Path.Combine(dir, "cert.pem"),
            ["Kestrel__Certificates__Default__KeyPath"] = Path.Combine(dir, "key.pem"),
        }, Path.Combine(dir, "frontend.log"));

        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler
        {
            CookieContainer = cookies, AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == certificate.Thumbprint, // this one only
        }) { BaseAddress = new Uri(url) };
        for (var i = 0; ; i++)
        {
            try { if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) when (i < 300 && !fe.HasExited) { }
            Assert.False(fe.HasExited, $"the front-end exited: {fe.Tail()}");
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/api/v1/accounts", new SignupRequest("tls-buyer", "tls-buyer-pass", "t@example.org", "buyer"))).StatusCode);
        var form = await http.GetAsync("/login");
        Assert.Equal("max-age=31536000", form.Headers.GetValues("Strict-Transport-Security").Single());
        var token = TokenRx().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value;
        var login = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "tls-buyer", ["password"] = "tls-buyer-pass", ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var session = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("virtuoso_session=", StringComparison.Ordinal));
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/machines")).StatusCode); // the Secure cookie works over HTTPS
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRx();
}
