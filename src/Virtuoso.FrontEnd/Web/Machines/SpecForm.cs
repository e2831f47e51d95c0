namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>The fields of a machine's configuration and bids, as the register and edit forms post them (Figures 7, 13).</summary>
internal sealed class SpecForm
{
    public string? Name { get; set; }
    public string? Processor { get; set; }
    public long? Speed { get; set; }
    public long? Memory { get; set; }
    public long? Disk { get; set; }
    public string? Os { get; set; }
    /// <summary>Dollars per month.</summary>
    public decimal? StorageBid { get; set; }
    /// <summary>Dollars per hour.</summary>
    public decimal? RunningBid { get; set; }
    /// <summary>The preconfigured image's minimums, shown as the inputs' lower bounds.</summary>
    public long? MinMemory { get; set; }
    public long? MinDisk { get; set; }
    public string? Image { get; set; }
}
