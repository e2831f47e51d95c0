using System.Data.Common;
using Dapper;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Hosts;

/// <summary>Reads of hosts with their reserved capacity, derived from the machines stored on them (never stored twice, never drifting).</summary>
internal static class HostQueries
{
    /// <summary>The hosts on offer; with <paramref name="deleting"/>, also those being deleted (the host monitor still watches them).</summary>
    public static Task<IEnumerable<HostRow>> AllAsync(DbConnection c, DbTransaction? tx = null, bool deleting = false) =>
        c.QueryAsync<HostRow>($"SELECT {HostRow.AllColumnsFrom}{(deleting ? "" : " WHERE h.deleting = 0")} ORDER BY h.owner, h.name", transaction: tx);

    public static Task<IEnumerable<HostRow>> OwnedByAsync(DbConnection c, string owner) =>
        c.QueryAsync<HostRow>($"SELECT {HostRow.Columns} FROM hosts h WHERE h.owner = @owner ORDER BY h.name", new { owner });

    public static Task<HostRow?> ByNameAsync(DbConnection c, string name, DbTransaction? tx = null, string forUpdate = "") =>
        c.QuerySingleOrDefaultAsync<HostRow>($"SELECT {HostRow.Columns} FROM hosts h WHERE h.name = @name{forUpdate}", new { name }, tx);
}
