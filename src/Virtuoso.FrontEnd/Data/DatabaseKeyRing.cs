using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace Virtuoso.FrontEnd.Data;

/// <summary>
/// Issue 19: the key ring of ASP.NET Core data protection in the database (table <c>data_protection_keys</c>), so that every
/// replica behind the balancer protects and unprotects with the same keys: a form's anti-forgery token issued by one replica
/// is accepted by another. Not a per-process or per-machine key file. The keys only protect anti-forgery tokens (sessions
/// are random tokens looked up by hash), so they are stored as data protection writes them, unencrypted; reading them takes
/// access to the database, which holds everything anyway.
/// </summary>
internal sealed class DatabaseKeyRing(Database db) : IXmlRepository
{
    /// <summary>The application name every replica shares (the default would be each one's content root path).</summary>
    public const string ApplicationName = "virtuoso";

    // IXmlRepository is synchronous; data protection calls it at start-up and when it refreshes the ring (about daily,
    // or once when a token names a key it has not seen), never per request.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        db.ReadAsync(c => c.QueryAsync<string>("SELECT xml FROM data_protection_keys ORDER BY created_at, name")).GetAwaiter().GetResult()
            .Select(x => XElement.Parse(x)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        db.WriteAsync((c, tx) => c.ExecuteAsync("INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @at)",
            new { name = friendlyName, xml = element.ToString(SaveOptions.DisableFormatting), at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx))
            .GetAwaiter().GetResult();

    /// <summary>Data protection with the ring in the database and one application name for all replicas.</summary>
    public static void AddTo(IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp =>
            new ConfigureOptions<KeyManagementOptions>(o => o.XmlRepository = new DatabaseKeyRing(sp.GetRequiredService<Database>())));
    }
}
