#!/usr/bin/perl
# work.pl N - a hash, regex and sort heavy Perl workload (compat suite).
# Builds a web-log-like data set of N*1000 records, indexes it in nested
# hashes, parses it back with regexes, sorts it several ways, serialises it
# (Data::Dumper, Storable), rewrites it with substitutions and tr///, runs
# two interpreter threads over halves of it, and deletes most of it again.
# Prints counts, samples and MD5 digests: the output only depends on N.
use strict;
use warnings;
use threads;
use Data::Dumper;
use Digest::MD5 qw(md5_hex);
use List::Util qw(sum max min);
use Storable qw(dclone freeze thaw);

my $n = 1000 * ($ARGV[0] // 25);
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return int($seed / 16) % $_[0] }

my @verbs = qw(GET GET GET GET POST PUT DELETE HEAD);
my @words = map { join '', map { chr(97 + rnd(26)) } 1 .. 2 + rnd(8) } 1 .. 3000;
my @lines;
for my $i (1 .. $n) {
  push @lines, sprintf "%d.%d.%d.%d - u%04d [%02d/Jun/2024:%02d:%02d:%02d] \"%s /%s/%s?id=%d HTTP/1.1\" %d %d \"%s\"",
    10, rnd(256), rnd(256), rnd(256), rnd(5000), 1 + rnd(30), rnd(24), rnd(60), rnd(60),
    $verbs[rnd(scalar @verbs)], $words[rnd(200)], $words[rnd(scalar @words)], rnd(100000),
    (200, 200, 200, 301, 304, 404, 500)[rnd(7)], rnd(90000), join(' ', map { $words[rnd(scalar @words)] } 0 .. rnd(6));
}

# Parse with a big regex into nested hashes.
my (%by_user, %by_path, %status, %hour);
my $re = qr/^(\S+) - (u\d+) \[(\d+)\/\w+\/\d+:(\d+):\d+:\d+\] "(\w+) (\/\w+)(\/\w+)\?id=(\d+) [^"]*" (\d{3}) (\d+) "([^"]*)"$/;
my $bad = 0;
for (@lines) {
  if (my ($ip, $user, $day, $h, $verb, $top, $leaf, $id, $st, $bytes, $agent) = $_ =~ $re) {
    my $u = $by_user{$user} //= { hits => 0, bytes => 0, paths => {}, agents => [] };
    $u->{hits}++;
    $u->{bytes} += $bytes;
    $u->{paths}{"$top$leaf"}++;
    push @{ $u->{agents} }, $agent if @{ $u->{agents} } < 8;
    $by_path{$top}{$verb}{$st}++;
    $status{$st}++;
    $hour{$h} += $bytes;
  } else {
    $bad++;
  }
}
print "records $n users ", scalar(keys %by_user), " tops ", scalar(keys %by_path), " bad $bad\n";
print join(' ', map { "$_=$status{$_}" } sort keys %status), "\n";

# Sorts: numeric, string, multi-key, Schwartzian transform.
my @top_users = (sort { $by_user{$b}{bytes} <=> $by_user{$a}{bytes} || $a cmp $b } keys %by_user)[0 .. 9];
print "top @top_users\n";
my @st = map { $_->[1] } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] }
  map { [ lc(join '', reverse split //, (split / /)[6] // ''), $_ ] } @lines;
print "st ", md5_hex(join "\n", @st), " $st[0]\n";
my @nums = sort { $a <=> $b } map { /id=(\d+)/ ? $1 : () } @lines;
print "ids min $nums[0] max $nums[-1] median $nums[@nums / 2] sum ", sum(@nums), "\n";

# Serialise and copy the nested structure.
local $Data::Dumper::Sortkeys = 1;
local $Data::Dumper::Indent = 1;
my $dump = Dumper(\%by_path);
my $copy = dclone(\%by_user);
my $thawed = thaw(freeze($copy));
print "dump ", length($dump), " ", md5_hex($dump), " same ",
  (Dumper($thawed) eq Dumper(\%by_user) ? 1 : 0), "\n";

# Substitutions, tr///, split/join, growing strings.
my $text = join "\n", @lines;
my $vowels = ($text =~ tr/aeiou//);
(my $up = $text) =~ s/\b(u\d+)\b/\U$1/g;
$up =~ s/"(GET|POST) /"<$1> /g;
$up =~ s/(\d+)\.(\d+)\.(\d+)\.(\d+)/sprintf("%03d%03d%03d%03d", $1, $2, $3, $4)/ge;
my @fields = split /[\s"\[\]?=\/]+/, $up;
my %freq;
$freq{$_}++ for @fields;
my @common = (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq)[0 .. 7];
print "vowels $vowels fields ", scalar(@fields), " distinct ", scalar(keys %freq), " common @common\n";
print "up ", length($up), " ", md5_hex($up), "\n";

# Two interpreter threads, each with its own copy of the data.
my @thr = map {
  my $half = $_;
  threads->create(sub {
    my %h;
    for my $k (grep { $_ % 2 == $half } 0 .. $#lines) {
      my $l = $lines[$k];
      $h{ substr($l, 0, 24) } .= substr($l, -20);
      delete $h{ substr($lines[$k - 500], 0, 24) } if $k >= 500 && $k % 3 == 0;
    }
    return join ',', scalar(keys %h), md5_hex(join '', map { "$_$h{$_}" } sort keys %h);
  });
} 0, 1;
print "threads ", join(' ', map { $_->join } @thr), "\n";

# Delete most of it, then rebuild from what is left.
delete $by_user{$_} for grep { $by_user{$_}{hits} < 8 } keys %by_user;
my @left = sort keys %by_user;
my %inv;
push @{ $inv{ $by_user{$_}{hits} } }, $_ for @left;
print "left ", scalar(@left), " ", join(' ', map { "$_:" . scalar(@{ $inv{$_} }) } (sort { $a <=> $b } keys %inv)[0 .. 4]), "\n";
print "hours ", join(',', map { $hour{$_} } sort keys %hour), "\n";
