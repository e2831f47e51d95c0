using Microsoft.AspNetCore.Routing;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration.Methods.Scp;

/// <summary>
/// SCP (design §6.3): the baseline. Every file of the manifest is streamed whole through the origin's plain file
/// route (<see cref="TransferRoutes.File"/>) into staging; the server checks the hashes afterwards.
/// </summary>
internal sealed class ScpMethod : ITransferMethod
{
    /// <summary>How long the origin may send nothing before the copy is given up.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);
    private const int BufferSize = 1 << 20;

    public string Name => VmmpMethods.Scp;

    public void MapOriginRoutes(IEndpointRouteBuilder transfer)
    {
        // SCP reads the plain file route; nothing of its own.
    }

    public async Task<bool> FetchAsync(FetchContext context, CancellationToken ct)
    {
        long done = 0;
        var buffer = new byte[BufferSize];
        foreach (var file in context.Manifest.Files)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            idle.CancelAfter(IdleTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(context.Origin, TransferRoutes.File(context.MachineId, file.Name)));
            request.Headers.Authorization = new("Bearer", context.Token);
            try
            {
                using var response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
                if (!response.IsSuccessStatusCode)
                    throw new IOException($"the origin answered {(int)response.StatusCode} for {file.Name}");
                await using var body = await response.Content.ReadAsStreamAsync(idle.Token);
                await using var output = new FileStream(Path.Combine(context.StagingDirectory, file.Name), FileMode.CreateNew,
                    FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
                long written = 0;
                var writeback = new NativeFile.Writeback(output.SafeFileHandle);
                while (true)
                {
                    idle.CancelAfter(IdleTimeout);
                    var n = await body.ReadAsync(buffer, idle.Token);
                    if (n == 0)
                        break;
                    if (written + n > file.Length)
                        throw new IOException($"the origin sent more than the {file.Length} bytes of {file.Name}");
                    await output.WriteAsync(buffer.AsMemory(0, n), idle.Token);
                    writeback.Wrote(n);
                    written += n;
                    done += n;
                    context.Progress.Report(new TransferProgress(done, done));
                }
                if (written != file.Length)
                    throw new IOException($"the origin sent {written} of the {file.Length} bytes of {file.Name}");
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"the origin sent nothing for {IdleTimeout.TotalSeconds} s while copying {file.Name}", e);
            }
            catch (HttpRequestException e)
            {
                throw new IOException($"copying {file.Name} from the origin failed: {e.Message}", e);
            }
        }
        return false;
    }
}
