using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Events;
using Virtuoso.Agent.Images;
using Virtuoso.Agent.Vmm.Qemu;

namespace Virtuoso.Agent.Vmm;

/// <summary>The accelerator machines start with now: "tcg" until a probe proves "kvm" (design §2).</summary>
internal sealed class AcceleratorState
{
    public const string Tcg = "tcg";
    public const string Kvm = "kvm";

    private volatile string _current = Tcg;

    public string Current => _current;

    public void Set(string accelerator) => _current = accelerator;
}

/// <summary>
/// Chooses the accelerator at start, in the background so the agent serves at once: forced by
/// <c>--accelerator</c>, or in auto mode KVM only when <c>/dev/kvm</c> exists and a probe boot succeeds.
/// </summary>
internal sealed class AcceleratorSelection(
    AgentOptions options,
    AcceleratorState state,
    KvmProbe probe,
    ImageCache images,
    EventLog events,
    ILogger<AcceleratorSelection> log) : BackgroundService
{
    /// <summary>What to use without probing, or null when only a probe boot with <paramref name="kernel"/> can tell.</summary>
    public static (string Accelerator, string Reason)? Decide(AcceleratorMode mode, bool kvmDevice, string? kernel) => mode switch
    {
        AcceleratorMode.Tcg => (AcceleratorState.Tcg, "forced by --accelerator tcg"),
        AcceleratorMode.Kvm => (AcceleratorState.Kvm, "forced by --accelerator kvm"),
        _ when !kvmDevice => (AcceleratorState.Tcg, "no /dev/kvm"),
        _ when kernel is null => (AcceleratorState.Tcg, "no kernel to probe KVM with (give --probe-kernel, or an image with a kernel in --images)"),
        _ => null,
    };

    /// <summary>A kernel for the probe: --probe-kernel, else one from the images directory, else the host's own.</summary>
    public static string? FindKernel(AgentOptions options, ImageCache images)
    {
        if (options.ProbeKernel is not null)
            return File.Exists(options.ProbeKernel) ? options.ProbeKernel : null;
        if (images.FindAnyKernel() is { } fromImage)
            return fromImage;
        return Directory.Exists("/boot")
            ? Directory.EnumerateFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var kernel = options.Accelerator == AcceleratorMode.Auto ? FindKernel(options, images) : null;
        var decided = Decide(options.Accelerator, File.Exists("/dev/kvm"), kernel);
        string accelerator, reason;
        if (decided is { } d)
        {
            (accelerator, reason) = d;
        }
        else
        {
            AgentLog.ProbingKvm(log, kernel!);
            try
            {
                var result = await probe.RunAsync(kernel!, stoppingToken);
                (accelerator, reason) = (result.KvmWorks ? AcceleratorState.Kvm : AcceleratorState.Tcg, result.Reason);
            }
            catch (Exception e) when (e is VmmException or IOException or System.ComponentModel.Win32Exception)
            {
                (accelerator, reason) = (AcceleratorState.Tcg, $"the KVM probe failed: {e.Message}");
            }
        }
        state.Set(accelerator);
        AgentLog.AcceleratorChosen(log, accelerator, reason);
        events.Append("accelerator", state: accelerator, detail: reason);
    }
}
