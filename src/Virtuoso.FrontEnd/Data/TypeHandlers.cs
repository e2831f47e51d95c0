using System.Data;
using System.Globalization;
using Dapper;
using Virtuoso.Core;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;

namespace Virtuoso.FrontEnd.Data;

/// <summary>
/// The typed values at the data boundary (issue 13): rows and parameters carry <see cref="MachineId"/>,
/// <see cref="AccountName"/>, <see cref="Money"/> and instants (<see cref="DateTimeOffset"/>), and these handlers are the
/// one place that knows how each is stored (0001_schema.sql): ids and names as TEXT, money (and every decimal) as
/// invariant decimal TEXT (never a float), instants as unix milliseconds. A <see cref="Guid"/> is stored as its "D" text too, so no id can
/// land as SQLite's 16-byte blob. <see cref="MachineState"/> columns are read by Dapper's own enum parsing
/// (case-insensitive); Dapper binds an enum parameter as its number, so states are written as
/// <see cref="Machines.MachineRow.StateText"/> by the one writer.
/// </summary>
internal static class TypeHandlers
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        // Dapper's built-in maps win over handlers for these two: drop them first.
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
        SqlMapper.RemoveTypeMap(typeof(Guid));
        SqlMapper.RemoveTypeMap(typeof(Guid?));
        SqlMapper.RemoveTypeMap(typeof(decimal));
        SqlMapper.RemoveTypeMap(typeof(decimal?));
        SqlMapper.AddTypeHandler(new InstantHandler());
        SqlMapper.AddTypeHandler(new GuidHandler());
        SqlMapper.AddTypeHandler(new MachineIdHandler());
        SqlMapper.AddTypeHandler(new AccountNameHandler());
        SqlMapper.AddTypeHandler(new MoneyHandler());
        SqlMapper.AddTypeHandler(new DecimalHandler());
    }

    /// <summary>A decimal (money, seconds of running time) as it is stored: invariant text, unrounded.</summary>
    public static string DecimalText(decimal d) => Money.Format(d);
    public static decimal ParseDecimal(string s) => decimal.Parse(s, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);

    /// <summary>
    /// A value as a prepared statement's parameter takes it (the billing daemon's and the ledger's hot loops set
    /// <c>DbParameter.Value</c> themselves, past Dapper): the same stored forms as the handlers above.
    /// </summary>
    public static object Raw(object? value) => value switch
    {
        null => DBNull.Value,
        MachineId id => id.ToString(),
        Guid g => g.ToString("D"),
        AccountName a => a.Value,
        Money m => DecimalText(m.Dollars),
        decimal d => DecimalText(d),
        DateTimeOffset t => t.ToUnixTimeMilliseconds(),
        _ => value,
    };

    private static long Long(object value) => value is long l ? l : Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private sealed class InstantHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            parameter.DbType = DbType.Int64;
            parameter.Value = value.ToUnixTimeMilliseconds();
        }

        public override DateTimeOffset Parse(object value) => DateTimeOffset.FromUnixTimeMilliseconds(Long(value));
    }

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value.ToString("D");
        }

        public override Guid Parse(object value) => Guid.Parse((string)value);
    }

    private sealed class MachineIdHandler : SqlMapper.TypeHandler<MachineId>
    {
        public override void SetValue(IDbDataParameter parameter, MachineId value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value.ToString();
        }

        public override MachineId Parse(object value) => MachineId.Parse((string)value);
    }

    private sealed class AccountNameHandler : SqlMapper.TypeHandler<AccountName>
    {
        public override void SetValue(IDbDataParameter parameter, AccountName value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value.Value;
        }

        public override AccountName Parse(object value) => new((string)value);
    }

    private sealed class MoneyHandler : SqlMapper.TypeHandler<Money>
    {
        public override void SetValue(IDbDataParameter parameter, Money value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = DecimalText(value.Dollars);
        }

        public override Money Parse(object value) => new(ParseDecimal((string)value));
    }

    private sealed class DecimalHandler : SqlMapper.TypeHandler<decimal>
    {
        public override void SetValue(IDbDataParameter parameter, decimal value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = DecimalText(value);
        }

        public override decimal Parse(object value) => value is string s ? ParseDecimal(s) : Convert.ToDecimal(value, CultureInfo.InvariantCulture);
    }
}
