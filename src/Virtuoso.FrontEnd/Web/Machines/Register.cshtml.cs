using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Market;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>Edit a configuration before registering it (Figures 7, 10): the form starts from a standard or preconfigured configuration.</summary>
internal sealed class RegisterModel(MachineService machines, ConfigurationService configurations, FrontEnd.Networks.NetworkService networks, IOptions<MarketOptions> options) : WebPage
{
    /// <summary>My private networks' names (issue 16), offered in the form; default first.</summary>
    public IReadOnlyList<string> Networks { get; private set; } = [];
    [BindProperty] public string? Network { get; set; }

    public ConfigurationResponse? Config { get; private set; }
    [BindProperty] public SpecForm Form { get; set; } = new();
    public decimal Fee => options.Value.RegistrationFee;

    public async Task<IActionResult> OnGetAsync(string? config)
    {
        Config = (await configurations.ListAsync()).FirstOrDefault(c => c.Name == config);
        if (config is not null && Config is null)
            return Fail(new Http.Failure(ErrorCodes.UnknownConfiguration, $"unknown configuration '{config}': choose one from the list"));
        Networks = (await networks.ListAsync(Me)).Select(n => n.Name).ToList();
        var c = Config;
        // Bids pre-filled at twice the market estimate, so the hosts near the average match; empty until there is one.
        Form = new SpecForm
        {
            Name = c?.Name, Processor = c?.Processor ?? "x86_64", Speed = c?.Speed, Memory = c?.Memory, Disk = c?.Disk, Os = c?.Os,
            StorageBid = c?.EstimatedStorageRate * 2, RunningBid = c?.EstimatedRunningRate * 2,
            MinMemory = c?.MinMemory, MinDisk = c?.MinDisk, Image = c?.Image,
        };
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string? config)
    {
        Config = config is null ? null : (await configurations.ListAsync()).FirstOrDefault(c => c.Name == config);
        (Form.MinMemory, Form.MinDisk, Form.Image) = (Config?.MinMemory, Config?.MinDisk, Config?.Image);
        Networks = (await networks.ListAsync(Me)).Select(n => n.Name).ToList();
        if (BindingError() is { } bad) return Invalid(bad);
        if (Form.StorageBid is null || Form.RunningBid is null) return Invalid("give both bids: storage dollars per month and running dollars per hour");
        var f = Form;
        var registered = await machines.RegisterAsync(Me, new RegisterRequest(config, f.Name, f.Processor, f.Speed, f.Memory, f.Disk, f.Os, f.StorageBid.Value, f.RunningBid.Value,
            string.IsNullOrEmpty(Network) ? null : Network));
        if (registered.Failure is { } failure) return Fail(failure);
        return Redirect(WebRoutes.Machine(registered.Value!.Id) + "/registered");
    }
}
