namespace Virtuoso.Agent.Migration.Methods;

/// <summary>Helpers over the registered <see cref="ITransferMethod"/>s.</summary>
internal static class TransferMethods
{
    /// <summary>Method names in ordinal order: the stable order of RESULTS and of /v1/health.</summary>
    public static IReadOnlyList<string> Names(IEnumerable<ITransferMethod> methods) =>
        methods.Select(m => m.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}
