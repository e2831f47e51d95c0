namespace Virtuoso.Contracts.Api;

/// <summary>
/// An ISO image a buyer uploaded (issue 15 item 3): <c>PUT /api/v1/isos/{name}</c> with the raw bytes, then attached to a
/// machine with <c>PATCH /api/v1/machines/{id}</c> <c>{"cdrom": NAME}</c>.
/// </summary>
/// <param name="Sha256">The content's SHA-256, lower-case hex: ISOs of equal content share one stored file.</param>
/// <param name="Size">Bytes.</param>
/// <param name="AttachedTo">The names of the owner's machines that have it in their CD drive.</param>
public sealed record IsoResponse(string Name, string Sha256, long Size, DateTimeOffset CreatedAt, IReadOnlyList<string> AttachedTo);

/// <summary>GET /api/v1/isos: the buyer's ISOs, oldest first, and how much of the quota they use.</summary>
/// <param name="UsedBytes">The sum of the ISOs' sizes (equal content counts once per ISO).</param>
/// <param name="QuotaBytes">The most an account may hold (the operator's <c>Virtuoso:IsoQuotaBytes</c>).</param>
public sealed record IsoListResponse(IReadOnlyList<IsoResponse> Isos, long UsedBytes, long QuotaBytes);
