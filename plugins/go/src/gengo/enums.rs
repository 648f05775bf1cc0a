//! Enum declarations (`genEnum`): the type, its constants, the name and
//! value maps and its methods.

use super::*;

pub(crate) fn gen_enum(g: &mut GoFile, f: &mut FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let name = g.qualified(&e.go_ident);
    let leading = append_deprecation(e.comments.leading.clone(), e.is_deprecated());
    g.w.doc_comment(&comment_text(&leading));
    g.w.line(format!("type {name} int32"));
    g.w.blank();

    gen_enum_constants(g, f, id);
    gen_enum_maps(g, f, id);

    let protoimpl_x = g.ident(PROTOIMPL, "X");
    let enum_number = g.ident(PROTOREFLECT, "EnumNumber");
    g.w.open(format!("func (x {name}) Enum() *{name} {{"));
    g.w.line(format!("p := new({name})"));
    g.w.line("*p = x");
    g.w.line("return p");
    g.w.close("}");
    g.w.blank();
    g.w.open(format!("func (x {name}) String() string {{"));
    g.w.line(format!(
        "return {protoimpl_x}.EnumStringOf(x.Descriptor(), {enum_number}(x))"
    ));
    g.w.close("}");
    g.w.blank();

    reflect::gen_enum_reflect_methods(g, f, id);

    if !f.file.proto3 {
        let x = g.ident(PROTOIMPL, "X");
        g.w.doc_comment("// Deprecated: Do not use.\n");
        g.w.open(format!("func (x *{name}) UnmarshalJSON(b []byte) error {{"));
        g.w.line(format!(
            "num, err := {x}.UnmarshalJSONEnum(x.Descriptor(), b)"
        ));
        g.w.open("if err != nil {");
        g.w.line("return err");
        g.w.close("}");
        g.w.line(format!("*x = {name}(num)"));
        g.w.line("return nil");
        g.w.close("}");
        g.w.blank();
    }

    let indexes: Vec<String> = e
        .path
        .iter()
        .skip(1)
        .step_by(2)
        .map(i32::to_string)
        .collect();
    g.w.doc_comment(&format!("// Deprecated: Use {name}.Descriptor instead.\n"));
    g.w.open(format!("func ({name}) EnumDescriptor() ([]byte, []int) {{"));
    g.w.line(format!(
        "return {}GZIP(), []int{{{}}}",
        f.var_name("rawDesc"),
        indexes.join(", ")
    ));
    g.w.close("}");
    g.w.blank();
    f.need_raw_desc = true;
}

pub(crate) fn gen_enum_constants(g: &mut GoFile, f: &FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let type_name = g.qualified(&e.go_ident);
    g.w.open("const (");
    let single = e.values.len() == 1;
    for value in &e.values {
        let deprecated = value
            .proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false);
        let leading = append_deprecation(value.comments.leading.clone(), deprecated);
        g.w.doc_comment(&comment_text(&leading));
        let name = g.qualified(&value.go_ident);
        let number = value.proto.number();
        let trailing = trailing_comment(&value.comments.trailing);
        if single {
            g.w.line_with_comment(format!("{name} {type_name} = {number}"), &trailing);
        } else if trailing.is_empty() {
            g.w.row(Row {
                cells: vec![Cell::soft(name), Cell::soft(type_name.clone())],
                last: format!("= {number}"),
            });
        } else {
            g.w.row(Row {
                cells: vec![
                    Cell::soft(name),
                    Cell::soft(type_name.clone()),
                    Cell::soft(format!("= {number}")),
                ],
                last: trailing,
            });
        }
    }
    g.w.close(")");
    g.w.blank();
}

pub(crate) fn gen_enum_maps(g: &mut GoFile, f: &FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let type_name = g.qualified(&e.go_ident);
    g.w.doc_comment(&format!("// Enum value maps for {type_name}.\n"));
    g.w.open("var (");

    g.w.row(Row {
        cells: vec![Cell::soft(format!("{}_name", e.go_ident.name))],
        last: "= map[int32]string{".into(),
    });
    g.w.indent();
    let mut first_by_number: HashMap<i32, usize> = HashMap::new();
    for (i, value) in e.values.iter().enumerate() {
        first_by_number.entry(value.proto.number()).or_insert(i);
    }
    // Duplicates are written as comments, which are not list elements.
    let mut elements = Vec::new();
    let mut gap_before = false;
    for (i, value) in e.values.iter().enumerate() {
        let number = value.proto.number();
        let entry = format!("{number}: {},", go_quote(value.proto.name()));
        if first_by_number[&number] != i {
            elements.push(ListElement::Comment(format!("// Duplicate value: {entry}")));
            gap_before = true;
            continue;
        }
        elements.push(ListElement::Pair {
            key: format!("{number}:"),
            value: format!("{},", go_quote(value.proto.name())),
            gap_before,
        });
        gap_before = false;
    }
    write_key_value_list(g, elements);
    g.w.close("}");
    g.w.section();

    g.w.row(Row {
        cells: vec![Cell::soft(format!("{}_value", e.go_ident.name))],
        last: "= map[string]int32{".into(),
    });
    g.w.indent();
    let elements = e
        .values
        .iter()
        .map(|value| ListElement::Pair {
            key: format!("{}:", go_quote(value.proto.name())),
            value: format!("{},", value.proto.number()),
            gap_before: false,
        })
        .collect();
    write_key_value_list(g, elements);
    g.w.close("}");
    g.w.close(")");
    g.w.blank();
}
