"""`make bench`: prints one table of figures. No benchmark is defined yet (issue 8)."""


def main() -> int:
    print("| figure | value | target |")
    print("|---|---|---|")
    print("(no benchmarks yet)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
