namespace Virtuoso.FrontEnd.Web.Hosts;

/// <summary>The fields of a host as the add and edit forms post them (Figures 27, 29). Totals are locked once added.</summary>
internal sealed class HostForm
{
    public string? Name { get; set; }
    public string? Address { get; set; } = "127.0.0.1";
    public int? Port { get; set; } = 7001;
    public string? Processor { get; set; } = "x86_64";
    public string? ConnectSpeed { get; set; } = "1 Gbit/s";
    public string? Secret { get; set; }
    /// <summary>Where buyers reach the ports forwarded to guests (issue 14).</summary>
    public string? PublicAddress { get; set; } = "127.0.0.1";
    /// <summary>The host's ports forwarded to guests, FIRST-LAST.</summary>
    public string? Ports { get; set; } = "40000-40999";
    public long? Speed { get; set; }
    public long? Memory { get; set; }
    public long? Storage { get; set; }
    // Defaults: the report's virt8 (Figure 28), so a first host is priced like one the report shows.
    public long? SpeedUnit { get; set; } = 1000;
    public decimal? SpeedPrice { get; set; } = 0.00001m;
    public long? MemoryUnit { get; set; } = 4;
    public decimal? MemoryPrice { get; set; } = 0.00001m;
    public long? RunningPeriod { get; set; } = 3600;
    public long? StorageUnit { get; set; } = 100;
    public decimal? StoragePrice { get; set; } = 0.01m;
    public long? StoragePeriod { get; set; } = 30;
}
