"""Word lists the anonymiser needs: common given names and surnames, and capitalised words that are not names.

Given names that are also everyday words (May, Will, Grace, Bill, Rose, June, Mark, Hope, ...) are left
out on purpose: "May I have your name?" must survive. Such names are still caught from context
("my name is Grace", a reply to "May I have your name, please?").
"""

from __future__ import annotations

FIRST_NAMES = frozenset("""
Aaron Abigail Adam Adrian Aiden Alan Albert Alex Alexa Alexander Alexandra Alexis Alice Alicia Alison Allison
Alyssa Amanda Amber Amelia Amy Ana Andrea Andrew Angela Anna Anne Annie Anthony Antonio Ariana Arthur Ashley
Austin Ava Barbara Benjamin Beth Betty Beverly Blake Brandon Brenda Brian Brittany Bruce Bryan Caleb Cameron
Carl Carlos Carmen Carol Caroline Catherine Charles Charlotte Chloe Chris Christian Christina Christine
Christopher Cindy Claire Clara Cody Colin Connor Craig Crystal Cynthia Daniel Danielle David Debbie Deborah
Denise Dennis Derek Diana Diane Donald Donna Doris Dorothy Douglas Dylan Edward Elena Elijah Elizabeth Ella
Ellen Emily Emma Eric Erica Erin Ethan Eugene Evelyn Fatima Frances Francesca Francis Frank Gabriel Gabriella
Gary George Gerald Gloria Gregory Hailey Hannah Harold Harry Heather Helen Henry Isaac Isabel Isabella Jack
Jackson Jacob Jacqueline James Jamie Jane Janet Janice Jason Jasmine Jean Jeffrey Jennifer Jeremy Jerry Jesse
Jessica Joan Joe Joel John Johnny Jonathan Jordan Jose Joseph Joshua Joyce Juan Judith Judy Julia Julie Justin
Karen Katarina Kate Katherine Kathleen Kathryn Kayla Keith Kelly Kenneth Kevin Kimberly Kyle Larry Laura Lauren
Lawrence Leah Leo Liam Lily Linda Lisa Logan Lois Lori Louis Lucas Lucy Luis Luke Madison Maria Marie Marilyn
Martha Martin Mary Mason Matthew Megan Melanie Melissa Mia Michael Michelle Mike Mohammed Monica Nancy Natalie
Nathan Nicholas Nicole Noah Oliver Olivia Omar Oscar Pamela Patricia Patrick Paul Peter Philip Rachel Ralph
Randy Raymond Rebecca Richard Robert Roger Ronald Ruth Ryan Samantha Samuel Sandra Sara Sarah Scott Sean Sharon
Shirley Sofia Sophia Sophie Stephanie Stephen Steven Susan Tammy Teresa Theresa Thomas Timothy Tina Todd Tom
Tyler Valerie Victoria Vincent Virginia Walter Wayne William Zachary Zoe
""".split())

SURNAMES = frozenset("""
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson
anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson
walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell
mitchell carter roberts doe morgan cooper reed cook bell murphy bailey kelly howard ward cox richardson
""".split())

# Capitalised words that start sentences or name days, months and products, never people.
NOT_NAMES = frozenset("""
I I'm I'll I've I'd A An The This That These Those It It's Its He She We You They Me My Our Your Their His Her
Yes Yeah Yep No Nope Not Ok Okay OK Sure Hi Hello Hey Thanks Thank Please Sorry Great Good Fine Perfect Well
So And But Or If Then Also Just Actually Maybe Perhaps Here There What When Where Why How Who Which Can Could
Would Should Will Shall May Might Must Do Does Did Is Are Was Were Be Been Have Has Had Let Lets Let's Oh Wow
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Today Tomorrow Tonight Yesterday Morning Evening
January February March April June July August September October November December
Mr Mrs Ms Miss Dr Prof Sir Madam Mister Doctor Professor Bank Account Card Hotel Restaurant Street Road
Happy Interested Calling Looking Trying Going Not Unable New Old Just Still Afraid Glad Here Back
""".split())
