using Virtuoso.Agent.Vmm;

namespace Virtuoso.Agent.Tests.Vmm;

public class AcceleratorSelectionTests
{
    [Theory]
    [InlineData("Tcg", true, "/k", "tcg")]
    [InlineData("Kvm", false, null, "kvm")]
    [InlineData("Auto", false, "/k", "tcg")]
    [InlineData("Auto", true, null, "tcg")]
    public void Decide_WithoutAProbe(string mode, bool kvmDevice, string? kernel, string accelerator) =>
        Assert.Equal(accelerator, AcceleratorSelection.Decide(Enum.Parse<AcceleratorMode>(mode), kvmDevice, kernel)?.Accelerator);

    [Fact]
    public void Decide_AutoWithKvmAndAKernel_NeedsTheProbe() =>
        Assert.Null(AcceleratorSelection.Decide(AcceleratorMode.Auto, kvmDevice: true, kernel: "/images/linux-busybox/vmlinuz"));
}
