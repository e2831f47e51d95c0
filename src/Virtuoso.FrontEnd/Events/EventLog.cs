using System.Data.Common;
using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Events;

/// <summary>
/// The append-only event log (report §6.1.10, design §8): state changes, charges and errors, ordered by a
/// database sequence so that replicas interleave correctly. Written in the same transaction as the change
/// it describes whenever there is one.
/// </summary>
internal sealed class EventLog(Database db, TimeProvider clock)
{
    public const string FrontEnd = "front-end";

    public Task AppendAsync(DbConnection c, DbTransaction? tx, string kind, Guid? machine, string? account, string message, string origin = FrontEnd) =>
        c.ExecuteAsync("INSERT INTO events (at, origin, kind, machine, account, message) VALUES (@at, @origin, @kind, @machine, @account, @message)",
            new { at = clock.GetUtcNow(), origin, kind, machine, account, message }, tx);

    /// <summary>An append prepared once for a transaction and run per event (the billing daemon writes one per charged machine).</summary>
    public Appender AppenderFor(DbConnection c, DbTransaction tx) => new(c, tx, clock);

    public sealed class Appender
    {
        private readonly DbCommand _command;
        private readonly DbParameter[] _p;
        private readonly TimeProvider _clock;

        internal Appender(DbConnection c, DbTransaction tx, TimeProvider clock)
        {
            _clock = clock;
            _command = c.CreateCommand();
            _command.Transaction = tx;
            _command.CommandText = "INSERT INTO events (at, origin, kind, machine, account, message) VALUES (@at, @origin, @kind, @machine, @account, @message)";
            _p = new[] { "at", "origin", "kind", "machine", "account", "message" }.Select(name =>
            {
                var p = _command.CreateParameter();
                p.ParameterName = name;
                p.DbType = name == "at" ? System.Data.DbType.Int64 : System.Data.DbType.String;
                p.Value = DBNull.Value;
                _command.Parameters.Add(p);
                return p;
            }).ToArray();
        }

        public async Task AppendAsync(string kind, Guid? machine, string? account, string message, string origin = FrontEnd)
        {
            object?[] values = [_clock.GetUtcNow(), origin, kind, machine, account, message];
            for (var i = 0; i < _p.Length; i++) _p[i].Value = TypeHandlers.Raw(values[i]);
            await _command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// Appends <paramref name="events"/> in one statement, in their order, all with the same instant (PostgreSQL: <c>INSERT … SELECT FROM
    /// unnest(…) ORDER BY</c> the position, so their sequence numbers follow it). The billing daemon's batches on PostgreSQL, where each
    /// statement costs a round trip to the server.
    /// </summary>
    public async Task AppendAllAsync(DbConnection c, DbTransaction tx, IReadOnlyList<(string Kind, Guid? Machine, string? Account, string Message)> events,
        string origin = FrontEnd)
    {
        if (events.Count == 0) return;
        if (db.Dialect != Dialect.Postgres)
        {
            var appender = AppenderFor(c, tx);
            foreach (var e in events) await appender.AppendAsync(e.Kind, e.Machine, e.Account, e.Message, origin);
            return;
        }
        await c.ExecuteAsync(
            "INSERT INTO events (at, origin, kind, machine, account, message) " +
            "SELECT @at, @origin, kind, machine, account, message FROM unnest(@kinds, @machines, @accounts, @messages) WITH ORDINALITY " +
            "AS e(kind, machine, account, message, n) ORDER BY n",
            new { at = clock.GetUtcNow(), origin, kinds = events.Select(e => e.Kind).ToArray(), machines = events.Select(e => e.Machine?.ToString("D")).ToArray(),
                accounts = events.Select(e => e.Account).ToArray(), messages = events.Select(e => e.Message).ToArray() }, tx);
    }

    /// <summary>Appends outside any other transaction (e.g. an agent failure that changed nothing).</summary>
    public Task AppendAsync(string kind, Guid? machine, string? account, string message, string origin = FrontEnd) =>
        db.ReadAsync(async c => { await AppendAsync(c, null, kind, machine, account, message, origin); return 0; });

    /// <summary>
    /// A page of the events about <paramref name="account"/>'s machines or the account itself, newest first: at most
    /// <paramref name="limit"/>, older than <paramref name="before"/> (a sequence number) when given.
    /// </summary>
    public async Task<IReadOnlyList<EventResponse>> ForAccountAsync(string account, Guid? machine, int limit = Paging.DefaultLimit, long? before = null)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<(long Seq, DateTimeOffset At, string Origin, string Kind, Guid? Machine, string? Account, string Message)>(
            "SELECT seq, at, origin, kind, machine, account, message FROM events WHERE account = @account" +
            (machine is null ? "" : " AND machine = @machine") + (before is null ? "" : " AND seq < @before") + " ORDER BY seq DESC LIMIT @limit",
            new { account, machine, limit, before }));
        return rows.Select(r => new EventResponse(r.Seq, r.At, r.Origin, r.Kind, r.Machine, r.Account, r.Message)).ToList();
    }
}
