from seggui.cli import main

raise SystemExit(main())
