from deeplense.cli import main

raise SystemExit(main())
