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

    /// <summary>
    /// Whether this run saves screenshots: only when <c>VIRTUOSO_SCREENSHOTS=1</c> (scripts/screenshots sets it), so that an
    /// ordinary test run leaves the committed screenshots alone.
    /// </summary>
    public static bool SavingScreenshots { get; } = Environment.GetEnvironmentVariable("VIRTUOSO_SCREENSHOTS") == "1";

    /// <summary>The two widths every page is checked at: a laptop's browser window and a phone held upright.</summary>
    public const int Wide = 1280, Narrow = 390;

    public static async Task<Browser> LaunchAsync(string baseUrl)
    {
        Assert.True(File.Exists(ExecutablePath), $"{ExecutablePath} is missing: install Debian's chromium package (./test does)");
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("vt-chromium-").FullName;
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ExecutablePath, Headless = true, Args = Args, BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = Wide, Height = 800 }, Timeout = 60_000,
        });
        context.SetDefaultTimeout(30_000);
        return new Browser(playwright, context, profile);
    }

    public async Task<IPage> PageAsync() => Context.Pages.Count > 0 && Context.Pages[0].Url == "about:blank" ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>
    /// Saves the viewport (not the whole page: small files) as <c>docs/screenshots/NAME.png</c> when
    /// <see cref="SavingScreenshots"/>; otherwise does nothing.
    /// </summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (!SavingScreenshots) return;
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png") });
    }

    /// <summary>Makes the page's viewport <paramref name="width"/> CSS pixels wide (a phone's height below 500 px wide).</summary>
    public static Task SetWidthAsync(IPage page, int width) => page.SetViewportSizeAsync(width, width < 500 ? 844 : 800);

    /// <summary>
    /// Fails unless the page fits its viewport: the document is no wider than the window (the page never scrolls sideways;
    /// on a phone a wide table that is not stacked as cards may scroll inside its own box, from 1000 px no table needs to),
    /// no two visible interactive elements overlap, no button's or menu's text overflows its box, and every chart's labels
    /// lie inside the chart without overlapping each other. The message names the page, the width and the culprits (for a
    /// too-wide document, the element reaching furthest right).
    /// </summary>
    public static async Task AssertFitsAsync(IPage page, string name)
    {
        var problems = await page.EvaluateAsync<string[]>(LayoutProblemsScript);
        var width = await page.EvaluateAsync<int>("() => window.innerWidth");
        if (problems.Length > 0)
            throw new Xunit.Sdk.XunitException($"{name} at {width} px does not fit:\n  " + string.Join("\n  ", problems));
    }

    /// <summary>
    /// <see cref="AssertFitsAsync"/> at a phone's width, then at <see cref="Wide"/> (where a journey goes on): for a page
    /// in a state the crawl of LayoutTests does not reach, such as a running machine's.
    /// </summary>
    public static async Task AssertFitsAtBothWidthsAsync(IPage page, string name)
    {
        foreach (var width in new[] { Narrow, Wide })
        {
            await SetWidthAsync(page, width);
            await AssertFitsAsync(page, name);
        }
    }

    /// <summary>What <see cref="AssertFitsAsync"/> checks, in the page: a list of problems, empty when it fits.</summary>
    private const string LayoutProblemsScript = """
        () => {
          const problems = [];
          const w = window.innerWidth;
          const describe = el => {
            let s = el.tagName.toLowerCase();
            if (el.id) s += '#' + el.id;
            const cls = typeof el.className === 'string' ? el.className.trim() : '';
            if (cls) s += '.' + cls.split(/\s+/).join('.');
            const text = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ');
            if (text) s += ` "${text.length > 60 ? text.slice(0, 60) + '…' : text}"`;
            // Where it is: the nearest ancestor with an id (a table, a host's section), when the element has none.
            const place = el.id ? null : el.parentElement && el.parentElement.closest('[id]');
            return place ? `${s} in ${place.tagName.toLowerCase()}#${place.id}` : s;
          };
          // Not display:none, not visibility:hidden, not inside a closed <details> (content-visibility), and with a box.
          const shown = el => el.checkVisibility({ visibilityProperty: true }) && el.getClientRects().length > 0;
          // Inside a box that clips or scrolls sideways (a table's scroll box, a <pre>), overflow does not widen the page.
          const inScrollBox = el => {
            for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
              if (getComputedStyle(a).overflowX !== 'visible') return true;
            return false;
          };

          const docWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
          if (docWidth > w) {
            let worst = null, right = w;
            for (const el of document.body.querySelectorAll('*')) {
              if (!shown(el) || inScrollBox(el)) continue;
              const r = el.getBoundingClientRect().right + window.scrollX;
              if (r > right + 0.5 || (worst && r >= right - 0.5 && worst.contains(el))) { worst = el; right = Math.max(r, right); }
            }
            problems.push(`the document is ${docWidth} px wide in a ${w} px window; widest: ` +
              (worst ? `${describe(worst)}, its right edge at ${Math.round(right)} px` : 'no element found (a margin?)'));
          }

          // On a laptop's screen every table fits its place: none needs its scroll box; on a phone only a table that is not
          // stacked as cards (table.stack) may scroll in it.
          for (const box of document.querySelectorAll('.table-scroll'))
            if ((w >= 1000 || box.querySelector(':scope > table.stack')) && shown(box) && box.scrollWidth > box.clientWidth + 1)
                problems.push(`a table is ${box.scrollWidth} px wide in its ${box.clientWidth} px box: ${describe(box.querySelector('table') || box)}`);

          const interactive = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')].filter(shown);
          const boxes = interactive.map(el => ({ el, rects: [...el.getClientRects()].filter(r => r.width > 0 && r.height > 0) }));
          for (let i = 0; i < boxes.length; i++)
            for (let j = i + 1; j < boxes.length; j++) {
              const a = boxes[i], b = boxes[j];
              if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
              const hit = a.rects.some(p => b.rects.some(q =>
                Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1 && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1));
              if (hit) problems.push(`${describe(a.el)} overlaps ${describe(b.el)}`);
            }

          for (const el of document.querySelectorAll('button, .button, summary'))
            if (shown(el) && el.scrollWidth > el.clientWidth + 1) problems.push(`the text of ${describe(el)} overflows its box (${el.scrollWidth} > ${el.clientWidth} px)`);

          for (const svg of document.querySelectorAll('svg.chart')) {
            if (!shown(svg)) continue;
            const vb = svg.viewBox.baseVal;
            const texts = [...svg.querySelectorAll('text')].map(t => ({ t, b: t.getBBox() }));
            for (const { t, b } of texts)
              if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5)
                problems.push(`the label "${t.textContent}" of ${describe(svg)} is cut off by the chart's edge`);
            for (let i = 0; i < texts.length; i++)
              for (let j = i + 1; j < texts.length; j++) {
                const p = texts[i].b, q = texts[j].b;
                if (Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x) > 0.5 && Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y) > 0.5)
                  problems.push(`the labels "${texts[i].t.textContent}" and "${texts[j].t.textContent}" of ${describe(svg)} overlap`);
              }
          }
          return problems;
        }
        """;

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        _playwright.Dispose();
        try { Directory.Delete(_profile, recursive: true); }
        catch (IOException) { /* Chromium may still be writing its profile; the directory is a temporary one */ }
    }
}
