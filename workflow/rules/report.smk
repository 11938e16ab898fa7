rule leaderboard:
    input:
        all_metrics(),
    output:
        csv="results/leaderboard.csv",
        html=report(
            "results/leaderboard.html",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
            labels={"table": "leaderboard"},
        ),
    log:
        "results/logs/leaderboard.log",
    benchmark:
        "results/benchmarks/leaderboard.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "deeplense leaderboard --metrics {input:q} --csv {output.csv:q} --html {output.html:q} > {log:q} 2>&1"
