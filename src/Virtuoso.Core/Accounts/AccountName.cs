namespace Virtuoso.Core.Accounts;

/// <summary>
/// An account's user name (§6.1.1): who owns a machine or a host, who pays and who is paid. Compared ordinally; read
/// as text wherever a string is expected, so it prints and compares like the name it is.
/// </summary>
public readonly record struct AccountName(string Value)
{
    public override string ToString() => Value;
    public static implicit operator string(AccountName name) => name.Value;
}
