using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Virtuoso.Agent.Migration.Methods;

namespace Virtuoso.Agent.Migration.Origin;

/// <summary>
/// The machines this host currently lets a destination read (design §6.2 step 2), each with the SHA-256 of its
/// migration token. Kept in memory only: a restarted origin simply gets the idempotent PUT again from the front-end.
/// While a machine is exported its files must not change, so <see cref="Machines.MachineService"/> refuses to start,
/// resume or delete it.
/// </summary>
internal sealed class ExportRegistry
{
    private readonly ConcurrentDictionary<Guid, Export> _exports = new();

    /// <summary>
    /// One export: the context handed to the transfer routes, the digest of the token that opens it, and the host it is for
    /// (issue 20: with TLS, only that host's certificate opens it too; null from a front-end that did not name it).
    /// </summary>
    public sealed record Export(ExportContext Context, byte[] TokenDigest, string? Destination = null);

    public bool IsExported(Guid id) => _exports.ContainsKey(id);

    public Export? Find(Guid id) => _exports.GetValueOrDefault(id);

    public void Set(Export export) => _exports[export.Context.MachineId] = export;

    public bool Remove(Guid id) => _exports.TryRemove(id, out _);

    public static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>
    /// The export of machine <paramref name="id"/> when <paramref name="token"/> is its token; compares digests in
    /// fixed time, so neither the token's content nor its length leaks through timing.
    /// </summary>
    public Export? Authenticate(Guid id, string token)
    {
        var presented = Digest(token);
        return Find(id) is { } export && CryptographicOperations.FixedTimeEquals(presented, export.TokenDigest) ? export : null;
    }
}
