using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Contracts.Tests.Agent;

/// <summary>Issue 20: what a marketplace certificate says, and that only the marketplace's authority can say it.</summary>
public sealed class MarketCertificatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnIssuedHostCertificate_VerifiesAgainstItsAuthority_AsThatHost()
    {
        using var ca = MarketCertificates.CreateAuthority("test market", Now);
        var (csr, key) = MarketCertificates.NewRequest("anything-the-agent-claims");
        using var _ = key;
        var publicKey = MarketCertificates.KeyOfRequest(csr, out var error);
        Assert.Null(error);

        using var cert = MarketCertificates.Issue(ca, publicKey!, MarketIdentity.Host("alpha"), Now, TimeSpan.FromDays(365));

        Assert.Equal(MarketIdentity.Host("alpha"), MarketCertificates.Verify(cert, ca, Now.AddDays(1)));
        Assert.Equal(32, MarketCertificates.SerialOf(cert).Length);
    }

    [Fact]
    public void TheFrontEndsCertificate_SaysFrontEnd()
    {
        using var ca = MarketCertificates.CreateAuthority("test market", Now);
        using var cert = MarketCertificates.IssueWithKey(ca, MarketIdentity.FrontEnd, Now, TimeSpan.FromDays(30));

        Assert.True(cert.HasPrivateKey);
        Assert.Equal(MarketIdentity.FrontEnd, MarketCertificates.Verify(cert, ca, Now));
    }

    [Fact]
    public void AnotherAuthoritysCertificate_AnExpiredOne_AndTheAuthorityItself_DoNotVerify()
    {
        using var ca = MarketCertificates.CreateAuthority("test market", Now);
        using var other = MarketCertificates.CreateAuthority("test market", Now); // same name, other key
        using var foreign = MarketCertificates.IssueWithKey(other, MarketIdentity.Host("alpha"), Now, TimeSpan.FromDays(30));
        using var shortLived = MarketCertificates.IssueWithKey(ca, MarketIdentity.Host("alpha"), Now, TimeSpan.FromDays(1));

        Assert.Null(MarketCertificates.Verify(foreign, ca, Now));
        Assert.Null(MarketCertificates.Verify(shortLived, ca, Now.AddDays(2)));
        Assert.Null(MarketCertificates.Verify(ca, ca, Now));
    }

    [Fact]
    public void ASelfMadeCertificateNamingAHost_DoesNotVerify()
    {
        using var ca = MarketCertificates.CreateAuthority("test market", Now);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forged = new CertificateRequest(MarketCertificates.SubjectOf(MarketIdentity.Host("alpha")), key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));

        Assert.Equal(MarketIdentity.Host("alpha"), MarketCertificates.IdentityOf(forged)); // it says so...
        Assert.Null(MarketCertificates.Verify(forged, ca, Now)); // ...but nobody trusted signed it
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a request")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    public void ABadRequest_IsRefusedWithAReason(string pem)
    {
        Assert.Null(MarketCertificates.KeyOfRequest(pem, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void ARequestWithAnRsaKey_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        var pem = new CertificateRequest("CN=alpha", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();

        Assert.Null(MarketCertificates.KeyOfRequest(pem, out var error));
        Assert.Contains("ECDSA", error);
    }

    [Fact]
    public void EverySerial_Is32HexDigits_WhateverTheRandomDraw()
    {
        // Found flaky: a first byte with its high bit set got a leading zero in DER (34 digits), a zero first byte lost one (30).
        using var ca = MarketCertificates.CreateAuthority("test market", Now);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).PublicKey;
        for (var i = 0; i < 300; i++)
        {
            using var cert = MarketCertificates.Issue(ca, publicKey, MarketIdentity.Host("alpha"), Now, TimeSpan.FromDays(1));
            Assert.Matches("^[0-9a-f]{32}$", MarketCertificates.SerialOf(cert));
        }
    }
}
