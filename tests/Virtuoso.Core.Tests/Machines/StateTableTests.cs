using System.Reflection;
using Virtuoso.Core.Machines;
using static Virtuoso.Core.Machines.MachineAction;
using static Virtuoso.Core.Machines.MachineState;

namespace Virtuoso.Core.Tests.Machines;

/// <summary>Design §3.3 (report §4, §6.1.7), written out cell by cell rather than derived from the code.</summary>
public sealed class StateTableTests
{
    public enum Cell
    {
        /// <summary>Not in the table: refused, always the same way.</summary>
        Refused,
        /// <summary>Allowed, leading to the given state with the given version delta.</summary>
        To,
        /// <summary>Allowed, and the machine is gone (delete).</summary>
        Gone,
    }

    [Theory]
    // registered: search providers, edit configuration, store (v+1), delete
    [InlineData(Registered, Search, Cell.To, Registered, 0)]
    [InlineData(Registered, Edit, Cell.To, Registered, 0)]
    [InlineData(Registered, Store, Cell.To, Stored, 1)]
    [InlineData(Registered, Start, Cell.Refused, null, 0)]
    [InlineData(Registered, Stop, Cell.Refused, null, 0)]
    [InlineData(Registered, Suspend, Cell.Refused, null, 0)]
    [InlineData(Registered, Resume, Cell.Refused, null, 0)]
    [InlineData(Registered, Delete, Cell.Gone, null, 0)]
    [InlineData(Registered, Migrate, Cell.Refused, null, 0)]
    [InlineData(Registered, MachineAction.Console, Cell.Refused, null, 0)]
    [InlineData(Registered, MigrationStatus, Cell.Refused, null, 0)]
    [InlineData(Registered, Evict, Cell.Refused, null, 0)] // the provider deleted the host (§6.1.1)
    // stored: start, migrate, delete
    [InlineData(Stored, Search, Cell.Refused, null, 0)]
    [InlineData(Stored, Edit, Cell.Refused, null, 0)]
    [InlineData(Stored, Store, Cell.Refused, null, 0)]
    [InlineData(Stored, Start, Cell.To, Running, 0)]
    [InlineData(Stored, Stop, Cell.Refused, null, 0)]
    [InlineData(Stored, Suspend, Cell.Refused, null, 0)]
    [InlineData(Stored, Resume, Cell.Refused, null, 0)]
    [InlineData(Stored, Delete, Cell.Gone, null, 0)]
    [InlineData(Stored, Migrate, Cell.To, Migrating, 0)]
    [InlineData(Stored, MachineAction.Console, Cell.Refused, null, 0)]
    [InlineData(Stored, MigrationStatus, Cell.Refused, null, 0)]
    [InlineData(Stored, Evict, Cell.To, Registered, 1)] // the provider deleted the host (§6.1.1)
    // running: stop (v+1), view console, suspend (v+1)
    [InlineData(Running, Search, Cell.Refused, null, 0)]
    [InlineData(Running, Edit, Cell.Refused, null, 0)]
    [InlineData(Running, Store, Cell.Refused, null, 0)]
    [InlineData(Running, Start, Cell.Refused, null, 0)]
    [InlineData(Running, Stop, Cell.To, Stopped, 1)]
    [InlineData(Running, Suspend, Cell.To, Suspended, 1)]
    [InlineData(Running, Resume, Cell.Refused, null, 0)]
    [InlineData(Running, Delete, Cell.Refused, null, 0)]
    [InlineData(Running, Migrate, Cell.Refused, null, 0)]
    [InlineData(Running, MachineAction.Console, Cell.To, Running, 0)]
    [InlineData(Running, MigrationStatus, Cell.Refused, null, 0)]
    [InlineData(Running, Evict, Cell.To, Registered, 1)] // the provider deleted the host (§6.1.1)
    // stopped: start, migrate, delete
    [InlineData(Stopped, Search, Cell.Refused, null, 0)]
    [InlineData(Stopped, Edit, Cell.Refused, null, 0)]
    [InlineData(Stopped, Store, Cell.Refused, null, 0)]
    [InlineData(Stopped, Start, Cell.To, Running, 0)]
    [InlineData(Stopped, Stop, Cell.Refused, null, 0)]
    [InlineData(Stopped, Suspend, Cell.Refused, null, 0)]
    [InlineData(Stopped, Resume, Cell.Refused, null, 0)]
    [InlineData(Stopped, Delete, Cell.Gone, null, 0)]
    [InlineData(Stopped, Migrate, Cell.To, Migrating, 0)]
    [InlineData(Stopped, MachineAction.Console, Cell.Refused, null, 0)]
    [InlineData(Stopped, MigrationStatus, Cell.Refused, null, 0)]
    [InlineData(Stopped, Evict, Cell.To, Registered, 1)] // the provider deleted the host (§6.1.1)
    // suspended: resume, migrate, delete
    [InlineData(Suspended, Search, Cell.Refused, null, 0)]
    [InlineData(Suspended, Edit, Cell.Refused, null, 0)]
    [InlineData(Suspended, Store, Cell.Refused, null, 0)]
    [InlineData(Suspended, Start, Cell.Refused, null, 0)]
    [InlineData(Suspended, Stop, Cell.Refused, null, 0)]
    [InlineData(Suspended, Suspend, Cell.Refused, null, 0)]
    [InlineData(Suspended, Resume, Cell.To, Running, 0)]
    [InlineData(Suspended, Delete, Cell.Gone, null, 0)]
    [InlineData(Suspended, Migrate, Cell.To, Migrating, 0)]
    [InlineData(Suspended, MachineAction.Console, Cell.Refused, null, 0)]
    [InlineData(Suspended, MigrationStatus, Cell.Refused, null, 0)]
    [InlineData(Suspended, Evict, Cell.To, Registered, 1)] // the provider deleted the host (§6.1.1)
    // migrating: migration status only; its end is MigrationEnd
    [InlineData(Migrating, Search, Cell.Refused, null, 0)]
    [InlineData(Migrating, Edit, Cell.Refused, null, 0)]
    [InlineData(Migrating, Store, Cell.Refused, null, 0)]
    [InlineData(Migrating, Start, Cell.Refused, null, 0)]
    [InlineData(Migrating, Stop, Cell.Refused, null, 0)]
    [InlineData(Migrating, Suspend, Cell.Refused, null, 0)]
    [InlineData(Migrating, Resume, Cell.Refused, null, 0)]
    [InlineData(Migrating, Delete, Cell.Refused, null, 0)]
    [InlineData(Migrating, Migrate, Cell.Refused, null, 0)]
    [InlineData(Migrating, MachineAction.Console, Cell.Refused, null, 0)]
    [InlineData(Migrating, MigrationStatus, Cell.To, Migrating, 0)]
    [InlineData(Migrating, Evict, Cell.Refused, null, 0)] // the provider deleted the host (§6.1.1)
    public void Decide_EveryStateAndAction_FollowsTheDesignTable(
        MachineState state, MachineAction action, Cell cell, MachineState? next, int versionDelta)
    {
        var transition = StateTable.Decide(state, action);

        switch (cell)
        {
            case Cell.Refused:
                Assert.Null(transition);
                break;
            case Cell.To:
                Assert.NotNull(next);
                Assert.Equal(new Transition(next, versionDelta), transition);
                break;
            case Cell.Gone:
                Assert.Equal(new Transition(null, 0), transition);
                break;
        }
    }

    [Fact]
    public void ExpectedTable_HasExactlyOneRowForEveryStateAndAction()
    {
        // Guards the literal table above: a new state or action must get its row, and no cell twice.
        var rows = typeof(StateTableTests)
            .GetMethod(nameof(Decide_EveryStateAndAction_FollowsTheDesignTable))!
            .GetCustomAttributes<InlineDataAttribute>()
            .SelectMany(a => a.GetData(null!))
            .Select(d => ((MachineState)d[0], (MachineAction)d[1]))
            .ToList();
        var everyCell = Enum.GetValues<MachineState>()
            .SelectMany(s => Enum.GetValues<MachineAction>().Select(a => (s, a)))
            .ToList();

        Assert.Equal(everyCell.Count, rows.Count);
        Assert.Equal(everyCell.ToHashSet(), rows.ToHashSet());
    }

    [Fact]
    public void Decide_RefusedAction_IsRefusedTheSameWayEveryTime()
    {
        Assert.Null(StateTable.Decide(Running, Delete));
        Assert.Null(StateTable.Decide(Running, Delete));
        Assert.Null(StateTable.Decide(Migrating, Migrate));
    }

    [Fact]
    public void Decide_UnknownAction_IsRefused()
    {
        Assert.Null(StateTable.Decide(Running, (MachineAction)999));
        Assert.Null(StateTable.Decide((MachineState)999, Start));
    }

    // --- Allowed ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData(Registered, new[] { Search, Edit, Store, Delete })]
    [InlineData(Stored, new[] { Start, Delete, Migrate, Evict })]
    [InlineData(Running, new[] { Stop, Suspend, MachineAction.Console, Evict })]
    [InlineData(Stopped, new[] { Start, Delete, Migrate, Evict })]
    [InlineData(Suspended, new[] { Resume, Delete, Migrate, Evict })]
    [InlineData(Migrating, new[] { MigrationStatus })]
    public void Allowed_ListsTheStatesActionsInDeclarationOrder(MachineState state, MachineAction[] expected)
    {
        Assert.Equal(expected, StateTable.Allowed(state));
    }

    [Theory]
    [InlineData(Registered)]
    [InlineData(Stored)]
    [InlineData(Running)]
    [InlineData(Stopped)]
    [InlineData(Suspended)]
    [InlineData(Migrating)]
    public void Allowed_AgreesWithDecide(MachineState state)
    {
        var allowed = StateTable.Allowed(state);

        foreach (var action in Enum.GetValues<MachineAction>())
            Assert.Equal(allowed.Contains(action), StateTable.Decide(state, action) is not null);
    }

    // --- End of a migration (design §3.3, §6.2) --------------------------------------------------------

    [Theory]
    [InlineData(Stored)]
    [InlineData(Stopped)]
    [InlineData(Suspended)]
    public void MigrationEnd_Success_ReturnsToPreviousStateWithVersionPlusOne(MachineState previous)
    {
        Assert.Equal(new Transition(previous, 1), StateTable.MigrationEnd(previous, success: true));
    }

    [Theory]
    [InlineData(Stored)]
    [InlineData(Stopped)]
    [InlineData(Suspended)]
    public void MigrationEnd_Failure_ReturnsToPreviousStateWithSameVersion(MachineState previous)
    {
        Assert.Equal(new Transition(previous, 0), StateTable.MigrationEnd(previous, success: false));
    }

    // --- Where the machine is held ------------------------------------------------------------------------

    [Theory]
    [InlineData(Registered, false)]
    [InlineData(Stored, true)]
    [InlineData(Running, true)]
    [InlineData(Stopped, true)]
    [InlineData(Suspended, true)]
    [InlineData(Migrating, true)]
    public void IsOnHost_EveryStateButRegistered(MachineState state, bool expected)
    {
        Assert.Equal(expected, StateTable.IsOnHost(state));
    }
}
