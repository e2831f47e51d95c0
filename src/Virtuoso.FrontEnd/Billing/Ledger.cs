using System.Data.Common;
using Dapper;
using Virtuoso.Core;
using Virtuoso.FrontEnd.Data;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>
/// The double-entry ledger (design §4): every movement of money is an immutable transfer with a unique key,
/// inserted in the same transaction as the two balance changes. A key already present means "already done"
/// and moves nothing. Balances change only here, so the sum of all balances (the deposit source included)
/// stays zero.
/// </summary>
internal sealed class Ledger(Database db)
{
    /// <summary>The operator's account that receives fees.</summary>
    public const string Operator = "operator";
    /// <summary>The operator's deposit source: opening credits and deposits come from here.</summary>
    public const string Deposits = "deposits";

    /// <summary>Moves <paramref name="amount"/> unless <paramref name="key"/> was already used. True when it moved.</summary>
    public async Task<bool> TransferAsync(DbConnection c, DbTransaction tx, string key, string kind, Money amount,
        string from, string to, Guid? machine, string? host, DateTimeOffset at)
    {
        await LockAsync(c, tx, [from, to]);
        if (!await InsertAsync(c, tx, key, kind, amount, from, to, machine, host, at)) return false;
        await ApplyAsync(c, tx, new Dictionary<string, decimal> { [from] = -amount.Dollars, [to] = amount.Dollars });
        return true;
    }

    /// <summary>
    /// Locks <paramref name="accounts"/> until the transaction ends, in name order. A transaction that moves money calls
    /// it before it reads a balance or records a transfer, with every account it will touch: otherwise two PostgreSQL
    /// transactions deadlock, either by locking two accounts in opposite orders, or because recording a transfer
    /// share-locks both accounts (their foreign keys) and each then waits for the other's share lock to update a balance.
    /// SQLite has a single writer and needs none of this.
    /// </summary>
    public async Task LockAsync(DbConnection c, DbTransaction tx, IEnumerable<string> accounts)
    {
        if (db.Dialect != Dialect.Postgres) return;
        // One statement, however many accounts: its rows are locked as they leave the sort, so in byte order, which is ordinal
        // order for user names (ASCII, Http/Validate.cs). A batch of the billing daemon locks thousands.
        var names = accounts.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 1)
            await c.ExecuteAsync("SELECT username FROM accounts WHERE username = @account FOR UPDATE", new { account = names[0] }, tx);
        else if (names.Length > 1)
            await c.ExecuteAsync("SELECT username FROM accounts WHERE username = ANY(@names) ORDER BY username COLLATE \"C\" FOR UPDATE", new { names }, tx);
    }

    /// <summary>
    /// Records a transfer without touching balances: the caller applies the sum of its transfers' effects with
    /// <see cref="ApplyAsync"/> in the same transaction (the billing daemon does, once per account per batch).
    /// False when the key exists: already done, nothing to apply.
    /// </summary>
    public async Task<bool> InsertAsync(DbConnection c, DbTransaction tx, string key, string kind, Money amount,
        string from, string to, Guid? machine, string? host, DateTimeOffset at)
    {
        if (amount.Dollars <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "transfers move a positive amount");
        return await c.ExecuteAsync(
            "INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
            "VALUES (@key, @kind, @amount, @from, @to, @machine, @host, @at) ON CONFLICT (key) DO NOTHING",
            new { key, kind, amount, from, to, machine, host, at }, tx) > 0;
    }

    /// <summary>
    /// An insert of transfers prepared once for a transaction and run per transfer (the billing daemon records
    /// thousands per pass: parsing the statement each time costs more than running it). Like <see cref="InsertAsync"/>,
    /// it leaves balances to <see cref="ApplyAsync"/>.
    /// </summary>
    public sealed class Inserter
    {
        private readonly DbCommand _command;
        private readonly DbParameter[] _p;

        public Inserter(DbConnection c, DbTransaction tx)
        {
            _command = c.CreateCommand();
            _command.Transaction = tx;
            _command.CommandText = "INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
                "VALUES (@key, @kind, @amount, @from, @to, @machine, @host, @at) ON CONFLICT (key) DO NOTHING";
            _p = new[] { "key", "kind", "amount", "from", "to", "machine", "host", "at" }.Select(name =>
            {
                var p = _command.CreateParameter();
                p.ParameterName = name;
                p.DbType = name == "at" ? System.Data.DbType.Int64 : System.Data.DbType.String;
                p.Value = DBNull.Value;
                _command.Parameters.Add(p);
                return p;
            }).ToArray();
        }

        /// <summary>True when the transfer was recorded; false when its key exists (already done).</summary>
        public async Task<bool> InsertAsync(string key, string kind, Money amount, string from, string to, Guid? machine, string? host, DateTimeOffset at)
        {
            if (amount.Dollars <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "transfers move a positive amount");
            object?[] values = [key, kind, amount, from, to, machine, host, at];
            for (var i = 0; i < _p.Length; i++) _p[i].Value = TypeHandlers.Raw(values[i]);
            return await _command.ExecuteNonQueryAsync() > 0;
        }
    }

    /// <summary>
    /// Transfers gathered and recorded together in one statement (PostgreSQL: <c>INSERT … SELECT FROM unnest(…)</c>, in the order
    /// added, <c>ON CONFLICT (key) DO NOTHING</c>): the billing daemon's batches on PostgreSQL, where each statement costs a round
    /// trip to the server (docs/benchmarks.md). Like <see cref="InsertAsync"/>, it leaves balances to <see cref="ApplyAsync(DbConnection, DbTransaction, IReadOnlyDictionary{string, decimal}, IReadOnlyDictionary{string, decimal})"/>.
    /// </summary>
    public sealed class BulkInserter
    {
        private readonly List<string> _keys = [], _kinds = [], _amounts = [], _from = [], _to = [];
        private readonly List<string?> _machines = [], _hosts = [];
        private readonly List<long> _at = [];

        public int Count => _keys.Count;

        public void Add(string key, string kind, Money amount, string from, string to, Guid? machine, string? host, DateTimeOffset at)
        {
            if (amount.Dollars <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "transfers move a positive amount");
            _keys.Add(key); _kinds.Add(kind); _amounts.Add(TypeHandlers.DecimalText(amount.Dollars)); _from.Add(from); _to.Add(to);
            _machines.Add(machine?.ToString("D")); _hosts.Add(host); _at.Add(at.ToUnixTimeMilliseconds());
        }

        /// <summary>Records every transfer added whose key is new; returns how many were recorded (those whose key existed were not).</summary>
        public async Task<int> FlushAsync(DbConnection c, DbTransaction tx)
        {
            if (_keys.Count == 0) return 0;
            return await c.ExecuteAsync(
                "INSERT INTO transfers (key, kind, amount, from_account, to_account, machine, host, at) " +
                "SELECT key, kind, amount, from_account, to_account, machine, host, at " +
                "FROM unnest(@keys, @kinds, @amounts, @from, @to, @machines, @hosts, @at) WITH ORDINALITY " +
                "AS t(key, kind, amount, from_account, to_account, machine, host, at, n) ORDER BY n ON CONFLICT (key) DO NOTHING",
                new { keys = _keys.ToArray(), kinds = _kinds.ToArray(), amounts = _amounts.ToArray(), from = _from.ToArray(), to = _to.ToArray(),
                    machines = _machines.ToArray(), hosts = _hosts.ToArray(), at = _at.ToArray() }, tx);
        }
    }

    /// <summary>Adds each delta to its account's balance. Accounts are locked in name order so replicas never deadlock on them.</summary>
    public async Task ApplyAsync(DbConnection c, DbTransaction tx, IReadOnlyDictionary<string, decimal> deltas)
    {
        foreach (var (account, delta) in deltas.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            if (delta == 0) continue;
            var balance = await BalanceAsync(c, tx, account);
            await c.ExecuteAsync("UPDATE accounts SET balance = @balance WHERE username = @account",
                new { balance = balance + new Money(delta), account }, tx);
        }
    }

    /// <summary>
    /// The balances of <paramref name="accounts"/>, read in one statement (the billing daemon reads a batch's accounts once, after
    /// <see cref="LockAsync"/>, and writes them back once with <see cref="ApplyAsync(DbConnection, DbTransaction, IReadOnlyDictionary{string, decimal}, IReadOnlyDictionary{string, decimal})"/>).
    /// </summary>
    public async Task<Dictionary<string, decimal>> BalancesAsync(DbConnection c, DbTransaction tx, IReadOnlyCollection<string> accounts)
    {
        var balances = (await c.QueryAsync<(string Username, decimal Balance)>(
                $"SELECT username, balance FROM accounts WHERE {db.InList("username", "accounts")}{db.ForUpdate}", new { accounts = db.ListValue(accounts) }, tx))
            .ToDictionary(a => a.Username, a => a.Balance, StringComparer.Ordinal);
        if (accounts.FirstOrDefault(a => !balances.ContainsKey(a)) is { } missing) throw new InvalidOperationException($"account {missing} does not exist");
        return balances;
    }

    /// <summary>
    /// Adds each delta to its account's balance as read by <see cref="BalancesAsync"/> in this transaction, in one statement.
    /// </summary>
    public async Task ApplyAsync(DbConnection c, DbTransaction tx, IReadOnlyDictionary<string, decimal> deltas, IReadOnlyDictionary<string, decimal> balances)
    {
        var changed = deltas.Where(d => d.Value != 0).OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d => (Account: d.Key, Balance: TypeHandlers.DecimalText(balances[d.Key] + d.Value))).ToList();
        if (changed.Count == 0) return;
        if (db.Dialect == Dialect.Postgres)
            await c.ExecuteAsync("UPDATE accounts SET balance = v.balance FROM unnest(@names, @values) AS v(username, balance) WHERE accounts.username = v.username",
                new { names = changed.Select(x => x.Account).ToArray(), values = changed.Select(x => x.Balance).ToArray() }, tx);
        else
            await c.ExecuteAsync("UPDATE accounts SET balance = j.value ->> 1 FROM json_each(@rows) AS j WHERE accounts.username = j.value ->> 0",
                new { rows = System.Text.Json.JsonSerializer.Serialize(changed.Select(x => new[] { x.Account, x.Balance })) }, tx);
    }

    public async Task<Money> BalanceAsync(DbConnection c, DbTransaction? tx, string account) =>
        await c.QuerySingleOrDefaultAsync<Money?>(
            "SELECT balance FROM accounts WHERE username = @account" + (tx is null ? "" : db.ForUpdate), new { account }, tx)
            ?? throw new InvalidOperationException($"account {account} does not exist");
}
