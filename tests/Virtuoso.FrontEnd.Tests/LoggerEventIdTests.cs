extern alias agent;
using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Virtuoso.FrontEnd.Tests;

/// <summary>
/// Every [LoggerMessage] of an assembly has its own event id (issue 13, item 4: the price-average daemon reused the
/// migration service's 4001 and 4002), so that a log line's id names one message. Checked for the front-end and the
/// agent, whose logs an operator reads side by side.
/// </summary>
public sealed class LoggerEventIdTests
{
    [Fact]
    public void FrontEnd_EventIdsAreUnique() => AssertUnique(typeof(Program).Assembly);

    [Fact]
    public void Agent_EventIdsAreUnique() => AssertUnique(typeof(agent::Program).Assembly);

    private static void AssertUnique(Assembly assembly)
    {
        var messages = (
            from type in assembly.GetTypes()
            from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
            where attribute is not null
            select (attribute.EventId, Name: $"{type.FullName}.{method.Name}")).ToList();

        // The attribute stays in the compiled assembly; finding none would mean this test checks nothing.
        Assert.True(messages.Count >= 10, $"only {messages.Count} [LoggerMessage] methods found in {assembly.GetName().Name}");
        var unset = messages.Where(m => m.EventId < 0).Select(m => m.Name).ToList();
        Assert.True(unset.Count == 0, $"[LoggerMessage] without an EventId in {assembly.GetName().Name}: {string.Join(", ", unset)}");
        var reused = messages.GroupBy(m => m.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();
        Assert.True(reused.Count == 0, $"event ids used more than once in {assembly.GetName().Name}:\n{string.Join("\n", reused)}");
    }
}
