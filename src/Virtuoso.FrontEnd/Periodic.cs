namespace Virtuoso.FrontEnd;

/// <summary>
/// The loop of the front-end's daemons (billing, market estimates, the intent reconciler): a pass at once, then one
/// every <c>interval</c> of <see cref="TimeProvider"/> time; a failed pass is reported and the next one tries again.
/// </summary>
internal static class Periodic
{
    public static async Task RunAsync(Func<CancellationToken, Task> pass, TimeSpan interval, TimeProvider clock, Action<Exception> failed, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try { await pass(stop); }
            catch (Exception e) when (e is not OperationCanceledException) { failed(e); }
            try { await Task.Delay(interval, clock, stop); }
            catch (OperationCanceledException) { return; }
        }
    }
}
