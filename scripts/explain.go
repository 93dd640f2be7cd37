//go:build ignore

// explain is the database half of scripts/explain.sh: it captures the statements
// a server sends to MariaDB (the general log), groups them by shape, and shows
// each shape's plan on MariaDB (EXPLAIN) and on SQLite (EXPLAIN QUERY PLAN over a
// data directory seeded alike), most executed first, as markdown.
//
//	go run scripts/explain.go -dsn 'root@tcp(127.0.0.1:3306)/' start
//	... run the server on database DB and send it load ...
//	go run scripts/explain.go -dsn 'root@tcp(127.0.0.1:3306)/' -db DB -sqlite DATA/db report >plans.md
//
// start turns the general log on into mysql.general_log (emptied first) and keeps
// the server's previous settings in -state; report turns it back off, restores
// them, and writes the plans of the statements that connections to -db sent;
// drop NAME drops database NAME.
package main

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"
)

func main() {
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3306)/", "MariaDB server (the database part is ignored)")
	dbName := flag.String("db", "", "report: the database whose connections' statements to explain")
	sqliteDir := flag.String("sqlite", "", "report: a directory of the one-process server's SQLite files (DATA_DIR/db)")
	state := flag.String("state", filepath.Join(os.TempDir(), "mdouyin-explain-state.json"), "where start keeps the server's log settings")
	top := flag.Int("top", 40, "report: the most executed shapes to show")
	flag.Parse()
	log.SetFlags(0)
	cfg, err := mysql.ParseDSN(*dsn)
	if err != nil {
		log.Fatalf("explain: -dsn: %v", err)
	}
	cfg.DBName = ""
	server, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	server.SetMaxOpenConns(1) // SET SESSION below must hold for every statement

	switch flag.Arg(0) {
	case "start":
		err = start(server, *state)
	case "drop":
		_, err = server.Exec("DROP DATABASE IF EXISTS `" + strings.ReplaceAll(flag.Arg(1), "`", "") + "`")
	case "report":
		if *dbName == "" {
			log.Fatal("explain: report needs -db")
		}
		err = report(server, cfg, *dbName, *sqliteDir, *state, *top, os.Stdout)
	default:
		log.Fatal("explain: want start, report or drop NAME")
	}
	if err != nil {
		log.Fatalf("explain: %v", err)
	}
}

type logSettings struct {
	GeneralLog string `json:"general_log"`
	LogOutput  string `json:"log_output"`
}

func start(server *sql.DB, state string) error {
	var s logSettings
	if err := server.QueryRow(`SELECT @@GLOBAL.general_log, @@GLOBAL.log_output`).Scan(&s.GeneralLog, &s.LogOutput); err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(state, b, 0o600); err != nil {
		return err
	}
	for _, q := range []string{
		`SET GLOBAL general_log = OFF`,
		`TRUNCATE TABLE mysql.general_log`,
		`SET GLOBAL log_output = 'TABLE'`,
		`SET GLOBAL general_log = ON`,
	} {
		if _, err := server.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// shape is the statements of one text once their literals are taken out.
type shape struct {
	text   string // literals as ?, IN lists as (...), lists of tuples as ((...), ...)
	sample string // one statement as sent
	count  int
}

var (
	reStrings = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'`)
	reNumbers = regexp.MustCompile(`\b-?\d+(?:\.\d+)?\b`)
	reInList  = regexp.MustCompile(`\(\s*\?(?:\s*,\s*\?)*\s*\)`)
	reTuples  = regexp.MustCompile(`\(\(\.\.\.\)(?:\s*,\s*\(\.\.\.\))*\)`) // IN ((...),(...)...) after reInList
	reSpace   = regexp.MustCompile(`\s+`)
	reFrom    = regexp.MustCompile(`(?i)\b(?:FROM|UPDATE|INTO|JOIN)\s+([a-z_][a-z0-9_]*)`)
)

func normalize(q string) string {
	q = reSpace.ReplaceAllString(strings.TrimSpace(q), " ")
	q = reStrings.ReplaceAllString(q, "?")
	q = reNumbers.ReplaceAllString(q, "?")
	q = reInList.ReplaceAllString(q, "(...)")
	return reTuples.ReplaceAllString(q, "((...), ...)")
}

// worth reports whether a statement has a plan worth showing: reads, updates and
// deletes (inserts go by primary key; transaction control has none).
func worth(q string) bool {
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	switch strings.ToUpper(verb) {
	case "SELECT", "UPDATE", "DELETE", "WITH":
		return !strings.Contains(q, "@@") && !strings.Contains(q, "goose_db_version") &&
			!strings.Contains(strings.ToUpper(q), "INFORMATION_SCHEMA") && !strings.Contains(q, "GET_LOCK")
	}
	return false
}

func report(server *sql.DB, cfg *mysql.Config, dbName, sqliteDir, state string, top int, w io.Writer) error {
	defer restore(server, state)
	if _, err := server.Exec(`SET GLOBAL general_log = OFF`); err != nil {
		return err
	}
	// The threads that connected to dbName, then what they sent.
	threads := map[int64]bool{}
	rows, err := server.Query(`SELECT thread_id, CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE command_type = 'Connect'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var arg string
		if err := rows.Scan(&id, &arg); err != nil {
			return err
		}
		if strings.Contains(arg, " on "+dbName+" ") || strings.HasSuffix(arg, " on "+dbName) {
			threads[id] = true
		}
	}
	rows.Close()
	shapes := map[string]*shape{}
	rows, err = server.Query(`SELECT thread_id, CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE command_type IN ('Query', 'Execute')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var arg string
		if err := rows.Scan(&id, &arg); err != nil {
			return err
		}
		if !threads[id] || !worth(arg) {
			continue
		}
		n := normalize(arg)
		s := shapes[n]
		if s == nil {
			s = &shape{text: n, sample: arg}
			shapes[n] = s
		}
		s.count++
	}
	rows.Close()
	if len(shapes) == 0 {
		return fmt.Errorf("no statements from connections to %s in the general log", dbName)
	}
	list := slices.SortedFunc(func(yield func(*shape) bool) {
		for _, s := range shapes {
			if !yield(s) {
				return
			}
		}
	}, func(a, b *shape) int { return cmp.Or(b.count-a.count, strings.Compare(a.text, b.text)) })
	total := 0
	for _, s := range list {
		total += s.count
	}
	list = list[:min(top, len(list))]

	dcfg := *cfg
	dcfg.DBName = dbName
	target, err := sql.Open("mysql", dcfg.FormatDSN())
	if err != nil {
		return err
	}
	defer target.Close()
	lite, err := openSQLite(sqliteDir)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range lite {
			d.Close()
		}
	}()

	fmt.Fprintf(w, "%d statement shapes (%d statements) from the server's connections; the %d most executed:\n\n", len(shapes), total, len(list))
	for i, s := range list {
		fmt.Fprintf(w, "%d. **%d×** `%s`\n\n", i+1, s.count, s.text)
		fmt.Fprintf(w, "   MariaDB:\n\n")
		for _, line := range mysqlPlan(target, s.sample) {
			fmt.Fprintf(w, "       %s\n", line)
		}
		fmt.Fprintf(w, "\n   SQLite:\n\n")
		for _, line := range sqlitePlan(lite, s.sample) {
			fmt.Fprintf(w, "       %s\n", line)
		}
		fmt.Fprintln(w)
	}
	return nil
}

func restore(server *sql.DB, state string) {
	s := logSettings{GeneralLog: "0", LogOutput: "FILE"}
	if b, err := os.ReadFile(state); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	server.Exec(`SET GLOBAL log_output = ?`, s.LogOutput)
	server.Exec(`SET GLOBAL general_log = ` + map[bool]string{true: "ON", false: "OFF"}[s.GeneralLog == "1" || strings.EqualFold(s.GeneralLog, "ON")])
	server.Exec(`TRUNCATE TABLE mysql.general_log`)
	os.Remove(state)
}

// mysqlPlan is EXPLAIN of q as lines: table, access type, key, rows, extra.
func mysqlPlan(d *sql.DB, q string) []string {
	rows, err := d.Query("EXPLAIN " + q)
	if err != nil {
		return []string{"(EXPLAIN failed: " + err.Error() + ")"}
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return append(out, "(scan failed: "+err.Error()+")")
		}
		get := func(name string) string {
			for i, c := range cols {
				if c == name && vals[i].Valid {
					return vals[i].String
				}
			}
			return "-"
		}
		out = append(out, fmt.Sprintf("table %s: type %s, key %s, rows %s, %s",
			get("table"), get("type"), get("key"), get("rows"), get("Extra")))
	}
	return out
}

// openSQLite opens every *.db file of dir, read-only.
func openSQLite(dir string) (map[string]*sql.DB, error) {
	out := map[string]*sql.DB{}
	if dir == "" {
		return out, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		d, err := sql.Open("sqlite", "file:"+f+"?mode=ro")
		if err != nil {
			return nil, err
		}
		out[f] = d
	}
	return out, nil
}

// sqlitePlan is EXPLAIN QUERY PLAN of q in the SQLite file that holds the first
// table q names.
func sqlitePlan(lite map[string]*sql.DB, q string) []string {
	m := reFrom.FindStringSubmatch(q)
	if m == nil {
		return []string{"(no table named)"}
	}
	for _, d := range lite {
		var n int
		if d.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, m[1]).Scan(&n); n == 0 {
			continue
		}
		// SQLite locks the whole database for a write transaction and has no
		// FOR UPDATE; the stores leave it out there.
		rows, err := d.Query("EXPLAIN QUERY PLAN " + strings.TrimSuffix(strings.TrimSpace(q), " FOR UPDATE"))
		if err != nil {
			return []string{"(EXPLAIN QUERY PLAN failed: " + err.Error() + ")"}
		}
		defer rows.Close()
		var out []string
		depth := map[int64]int{0: 0}
		for rows.Next() {
			var id, parent, unused int64
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return append(out, "(scan failed: "+err.Error()+")")
			}
			depth[id] = depth[parent] + 1
			out = append(out, strings.Repeat("  ", depth[id]-1)+detail)
		}
		return out
	}
	return []string{"(table " + m[1] + " is in no SQLite file given)"}
}
