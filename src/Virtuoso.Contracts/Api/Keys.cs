namespace Virtuoso.Contracts.Api;

/// <summary>POST /api/v1/keys: put an SSH public key on the logged-in account (issue 14).</summary>
/// <param name="Name">The key's name on the account: 1–63 letters, digits, '.', '_', '-' or '@'.</param>
/// <param name="PublicKey">One OpenSSH public-key line, <c>TYPE BASE64 [COMMENT]</c>: the contents of a <c>.pub</c> file.</param>
public sealed record AddKeyRequest(string Name, string PublicKey);

/// <summary>An SSH public key on the account.</summary>
/// <param name="Type">ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa.</param>
/// <param name="Fingerprint">As <c>ssh-keygen -l</c> prints it: <c>SHA256:</c> and unpadded base64.</param>
/// <param name="PublicKey">The line as stored and given to machines: <c>TYPE BASE64 COMMENT</c>, single spaces.</param>
public sealed record KeyResponse(string Name, string Type, int Bits, string Fingerprint, string PublicKey, DateTimeOffset CreatedAt);
