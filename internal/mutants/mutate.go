package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
)

// Operator names, as they appear in mutant ids and docs/mutation.md.
const (
	opFlip   = "flip"   // a comparison or logical operator replaced by its opposite
	opNot    = "not"    // a condition negated, or a negation removed
	opDelete = "delete" // a statement removed
	opReturn = "return" // a function returns at once, with zero values
	opSwap   = "swap"   // two adjacent statements exchanged
)

// flips maps each operator to the one that negates (or breaks) it.
var flips = map[token.Token]token.Token{
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LSS: token.GEQ, token.GEQ: token.LSS,
	token.GTR: token.LEQ, token.LEQ: token.GTR,
	token.LAND: token.LOR, token.LOR: token.LAND,
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// Mutant is one deliberate bug in one file.
type Mutant struct {
	// ID names the mutant independently of line numbers, so that an
	// explanation written for it survives edits elsewhere in the file:
	// the function, the operator and the source it changes (with #n when
	// the same change occurs more than once in a function).
	ID   string
	Op   string
	Line int
	edit edit
}

// Apply returns src with the mutant's change made.
func (m Mutant) Apply(src []byte) []byte {
	out := make([]byte, 0, len(src)+len(m.edit.text))
	out = append(out, src[:m.edit.start]...)
	out = append(out, m.edit.text...)
	return append(out, src[m.edit.end:]...)
}

// Mutants lists every mutant of one Go source file, in source order.
func Mutants(filename string, src []byte) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", filename, err)
	}
	g := &generator{fset: fset, src: src, seen: map[string]int{}}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		g.fn = funcName(fd)
		g.returnEarly(fd)
		ast.Inspect(fd.Body, g.visit)
	}
	return g.out, nil
}

type generator struct {
	fset *token.FileSet
	src  []byte
	fn   string
	seen map[string]int
	out  []Mutant
}

func (g *generator) text(n ast.Node) string {
	return string(g.src[g.fset.Position(n.Pos()).Offset:g.fset.Position(n.End()).Offset])
}

func (g *generator) add(op string, at token.Pos, what string, e edit) {
	id := fmt.Sprintf("%s: %s %s", g.fn, op, oneLine(what))
	g.seen[id]++
	if n := g.seen[id]; n > 1 {
		id = fmt.Sprintf("%s #%d", id, n)
	}
	g.out = append(g.out, Mutant{ID: id, Op: op, Line: g.fset.Position(at).Line, edit: e})
}

func (g *generator) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BinaryExpr:
		if to, ok := flips[n.Op]; ok {
			off := g.fset.Position(n.OpPos).Offset
			g.add(opFlip, n.OpPos, fmt.Sprintf("%s → %s in %s", n.Op, to, g.text(n)),
				edit{off, off + len(n.Op.String()), to.String()})
		}
	case *ast.UnaryExpr:
		if n.Op == token.NOT {
			off := g.fset.Position(n.OpPos).Offset
			g.add(opNot, n.OpPos, "drop ! in "+g.text(n), edit{off, off + 1, ""})
		}
	case *ast.IfStmt:
		// Comparisons and negations are already flipped where they stand;
		// a plain boolean (a call, a field, a variable) is negated whole.
		switch n.Cond.(type) {
		case *ast.BinaryExpr, *ast.UnaryExpr:
		default:
			g.add(opNot, n.Cond.Pos(), "negate "+g.text(n.Cond), g.replace(n.Cond, "!("+g.text(n.Cond)+")"))
		}
	case *ast.BlockStmt:
		g.statements(n.List)
	case *ast.CaseClause:
		g.statements(n.Body)
	case *ast.CommClause:
		g.statements(n.Body)
	case *ast.FuncLit:
		// Closures are visited as part of their function: their
		// statements are mutated, but they do not get a return-early.
	}
	return true
}

// statements adds the deletions of a block's statements and the swaps of
// its adjacent pairs.
func (g *generator) statements(list []ast.Stmt) {
	for i, s := range list {
		if movable(s) {
			g.add(opDelete, s.Pos(), g.text(s), g.replace(s, ""))
		}
		if i+1 < len(list) && movable(s) && movable(list[i+1]) {
			next := list[i+1]
			between := string(g.src[g.fset.Position(s.End()).Offset:g.fset.Position(next.Pos()).Offset])
			g.add(opSwap, s.Pos(), g.text(s)+" ⇄ "+g.text(next), edit{
				g.fset.Position(s.Pos()).Offset, g.fset.Position(next.End()).Offset,
				g.text(next) + between + g.text(s),
			})
		}
	}
}

func (g *generator) replace(n ast.Node, text string) edit {
	return edit{g.fset.Position(n.Pos()).Offset, g.fset.Position(n.End()).Offset, text}
}

// returnEarly adds a mutant that makes the function return at once: with
// its named results as they are, or with zero values (`*new(T)` is the
// zero value of any type T, nil for an error). Functions of one statement
// are left out: deleting or flipping that statement covers them.
func (g *generator) returnEarly(fd *ast.FuncDecl) {
	if len(fd.Body.List) < 2 {
		return
	}
	var values []string
	if r := fd.Type.Results; r != nil && len(r.List) > 0 && len(r.List[0].Names) == 0 {
		for _, field := range r.List {
			v := "*new(" + g.text(field.Type) + ")"
			if id, ok := field.Type.(*ast.Ident); ok && id.Name == "error" {
				v = "nil"
			}
			values = append(values, v)
		}
	}
	ret, what := "return", "early"
	if len(values) > 0 {
		ret += " " + strings.Join(values, ", ")
		what += " with " + strings.Join(values, ", ")
	}
	off := g.fset.Position(fd.Body.Lbrace).Offset + 1
	g.add(opReturn, fd.Body.Lbrace, what, edit{off, off, ret + ";"})
}

// movable: statements that can be deleted, or change places with a
// neighbour, and still compile as a rule (a mutant that does not is
// discarded anyway). Declarations (:=, var) and returns are left alone:
// removing or moving them almost never compiles, or only makes code
// unreachable.
func movable(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.ExprStmt, *ast.IncDecStmt, *ast.SendStmt, *ast.DeferStmt, *ast.GoStmt, *ast.IfStmt:
		return true
	case *ast.AssignStmt:
		return s.Tok != token.DEFINE
	}
	return false
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	star := ""
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = "*", s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return "(" + star + id.Name + ")." + fd.Name.Name
	}
	return fd.Name.Name
}

// oneLine shortens source to one line of at most 100 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 100 {
		s = string(r[:97]) + "..."
	}
	return s
}
