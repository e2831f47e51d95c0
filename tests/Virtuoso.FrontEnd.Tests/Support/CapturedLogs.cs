using System.Collections.Concurrent;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>One log entry a front-end in process wrote (at the level its configuration lets through: Warning and up).</summary>
internal sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Message);

/// <summary>
/// A logger provider keeping what the in-process front-end logs, so a test can see that something was logged (and wait
/// for it: a log line is often the only sign a background handler has run). Keeps the latest entries only.
/// </summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private const int Keep = 10_000;
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(CapturedLog entry)
    {
        _entries.Enqueue(entry);
        while (_entries.Count > Keep) _entries.TryDequeue(out _);
    }

    private static readonly object ErrorFileGate = new();

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            logs.Add(new CapturedLog(category, logLevel, eventId.Id, message));
            // ./test names a file for errors, so an unexpected 500 in a test is explained by its exception.
            if (logLevel >= LogLevel.Error && Environment.GetEnvironmentVariable("VIRTUOSO_TEST_ERROR_LOG") is { Length: > 0 } file)
                lock (ErrorFileGate)
                    File.AppendAllText(file, $"{DateTimeOffset.UtcNow:O} {logLevel} {category}[{eventId.Id}]: {message}{Environment.NewLine}{exception}{Environment.NewLine}");
        }
    }
}
