namespace Virtuoso.Cli;

/// <summary>The front-end's base address as given by <c>--server</c> or <c>$VIRTUOSO_SERVER</c>.</summary>
internal static class ServerAddress
{
    /// <summary>An absolute http(s) URL whose path ends in '/', so that "api/v1/…" resolves beneath it.</summary>
    public static Result<Uri> Parse(string text)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return Failure.Usage($"--server must be an http:// or https:// URL such as {CliSettings.LocalServer}, not '{text}'");
        }

        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
    }

    /// <summary>How the address is shown and stored with credentials: no trailing '/'.</summary>
    public static string Display(Uri server) => server.ToString().TrimEnd('/');
}
