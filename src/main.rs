fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mf = exactly::cfg::parse(&text).unwrap();
    let fam = exactly::family::find("handler").unwrap();
    let (consts, props) = exactly::family::validate(fam, &mf).unwrap();
    let out = fam.check(&consts, &props, &exactly::check::RunOptions { threads: 2, dfs: false });
    println!("{:#?}", out);
}
