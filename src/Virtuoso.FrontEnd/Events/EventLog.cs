using System.Data.Common;
using Dapper;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Http;

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
        var rows = await db.ReadAsync(c => c.QueryAsync<Row>(
            "SELECT " + Columns + " FROM events WHERE account = @account" +
            (machine is null ? "" : " AND machine = @machine") + (before is null ? "" : " AND seq < @before") + " ORDER BY seq DESC LIMIT @limit",
            new { account, machine, limit, before }));
        return rows.Select(r => r.Response).ToList();
    }

    /// <summary>
    /// The operator's page of every event, the front-end's and the agents' (issue 19 point 3), newest first by time and then
    /// by seq: an agent's event is listed at the time its agent wrote it (never earlier than the host's previous one), not when
    /// it was gathered, so a machine's events stay in order across the front-end and the hosts it lived on.
    /// <paramref name="before"/> is the seq of the last event of the previous page.
    /// </summary>
    public async Task<Outcome<IReadOnlyList<EventResponse>>> AllAsync(EventFilter filter, int limit = Paging.DefaultLimit, long? before = null)
    {
        var page = await db.ReadAsync(async c =>
        {
            DateTimeOffset? beforeAt = null;
            if (before is not null && (beforeAt = await c.QuerySingleOrDefaultAsync<DateTimeOffset?>("SELECT at FROM events WHERE seq = @before", new { before })) is null)
                return null;
            return (await c.QueryAsync<Row>("SELECT " + Columns + " FROM events WHERE 1 = 1" +
                (filter.Host is null ? "" : " AND host = @Host") + (filter.Machine is null ? "" : " AND machine = @Machine") + (filter.Kind is null ? "" : " AND kind = @Kind") +
                (before is null ? "" : " AND (at < @beforeAt OR (at = @beforeAt AND seq < @before))") + " ORDER BY at DESC, seq DESC LIMIT @limit",
                new { filter.Host, filter.Machine, filter.Kind, beforeAt, before, limit })).Select(r => r.Response).ToList();
        });
        return page is null
            ? new Failure(Contracts.Api.ErrorCodes.InvalidCursor, $"before={before} is no event: give the seq of the last event of a previous page")
            : page;
    }

    private const string Columns = "seq, at, origin, kind, machine, account, message, host";

    private sealed class Row
    {
        public long Seq { get; set; }
        public DateTimeOffset At { get; set; }
        public string Origin { get; set; } = "";
        public string Kind { get; set; } = "";
        public Guid? Machine { get; set; }
        public string? Account { get; set; }
        public string Message { get; set; } = "";
        public string? Host { get; set; }
        public EventResponse Response => new(Seq, At, Origin, Kind, Machine, Account, Message, Host);
    }
}

/// <summary>The operator's filters of all events: the host whose agent wrote them, the machine, the kind; null: any.</summary>
internal sealed partial record EventFilter(string? Host, Guid? Machine, string? Kind)
{
    public static readonly EventFilter None = new(null, null, null);

    public bool Any => Host is not null || Machine is not null || Kind is not null;

    /// <summary>Filters as the API's query and the web form give them (blank: any); 400 invalid-filter for one that can match nothing by its form.</summary>
    public static Outcome<EventFilter> Parse(string? host, string? machine, string? kind)
    {
        host = Blank(host);
        machine = Blank(machine);
        kind = Blank(kind);
        if (host is not null && Validate.HostName(host) is not null)
            return new Failure(Contracts.Api.ErrorCodes.InvalidFilter, $"host must be a host name (letters, digits, '.', '_', '-'; up to 63), not '{host}'");
        Guid? id = null;
        if (machine is not null)
        {
            if (!Guid.TryParse(machine, out var g)) return new Failure(Contracts.Api.ErrorCodes.InvalidFilter, $"machine must be a machine id (a UUID), not '{machine}'");
            id = g;
        }
        if (kind is not null && !KindRx().IsMatch(kind))
            return new Failure(Contracts.Api.ErrorCodes.InvalidFilter, $"kind must be an event kind (lower-case letters, digits and '-', e.g. started or vmmp), not '{kind}'");
        return new EventFilter(host, id, kind);
    }

    private static string? Blank(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z][a-z0-9-]{0,39}$")]
    private static partial System.Text.RegularExpressions.Regex KindRx();
}
