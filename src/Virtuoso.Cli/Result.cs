using System.Diagnostics.CodeAnalysis;

namespace Virtuoso.Cli;

/// <summary>A value or the <see cref="Failure"/> that prevented it; expected failures travel as values, not exceptions.</summary>
internal readonly struct Result<T>
{
    private readonly T? value;
    private readonly Failure? failure;

    private Result(T? value, Failure? failure)
    {
        this.value = value;
        this.failure = failure;
    }

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(Failure failure) => new(default, failure);

    /// <summary>Usage: <c>if (result.Failed(out var failure, out var value)) return failure;</c></summary>
    public bool Failed([NotNullWhen(true)] out Failure? failure, [NotNullWhen(false)] out T? value)
    {
        failure = this.failure;
        value = this.value;
        return failure is not null;
    }
}

/// <summary>The value of a call that answers nothing (HTTP 204).</summary>
internal readonly record struct Done;
