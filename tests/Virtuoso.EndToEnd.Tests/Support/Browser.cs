using Microsoft.Playwright;

namespace Virtuoso.EndToEnd.Tests.Support;

/// <summary>
/// Debian's Chromium (<see cref="ExecutablePath"/>) driven by Playwright for .NET, headless, with a fresh profile per
/// browser. Playwright's own browser download is never used: <c>./test</c> installs the <c>chromium</c> package.
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private static readonly string[] Args =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private Browser(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    /// <summary>Where the tests save screenshots of the main pages; the README's tour shows the committed ones.</summary>
    public static string Screenshots { get; } = Path.Combine(Repo.Root, "docs", "screenshots");

    public static async Task<Browser> LaunchAsync(string baseUrl)
    {
        Assert.True(File.Exists(ExecutablePath), $"{ExecutablePath} is missing: install Debian's chromium package (./test does)");
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("vt-chromium-").FullName;
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ExecutablePath, Headless = true, Args = Args, BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = 1180, Height = 760 }, Timeout = 60_000,
        });
        context.SetDefaultTimeout(30_000);
        return new Browser(playwright, context, profile);
    }

    public async Task<IPage> PageAsync() => Context.Pages.Count > 0 && Context.Pages[0].Url == "about:blank" ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>Saves the viewport (not the whole page: small files) as <c>docs/screenshots/NAME.png</c>.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png") });
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        _playwright.Dispose();
        try { Directory.Delete(_profile, recursive: true); }
        catch (IOException) { /* Chromium may still be writing its profile; the directory is a temporary one */ }
    }
}
